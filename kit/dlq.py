"""Dead-lettering: the event, untouched, plus why and where it came from.

Recorded first, published second. The row in dead_letters (one per source topic, partition and
offset; it keeps the event's key, value and headers, for an operator's replay through the inbox:
kit/operators_api.py) is written before anything else, so from then on the event counts as dead: a redelivery
is not applied again, only its publish is completed. The original key, value and headers then go
to the consumer's `<service>.dlt` topic with `dlt_*` headers, and `published_at` is set. A publish
that fails is retried (by the caller, or on redelivery) and the row is never doubled; a crash
between the broker's ack and `published_at` can leave a second copy on the topic, which carries the
same dlt_source_* headers to tell it apart.
"""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

_RECORD = """
INSERT INTO dead_letters (consumer, municipality, topic, partition, kafka_offset, message_id,
                          reason, attempts, event_key, event_value, header_names, header_values)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (consumer, topic, partition, kafka_offset) DO NOTHING
"""
_UNPUBLISHED = """
SELECT reason, attempts FROM dead_letters
WHERE consumer = $1 AND topic = $2 AND partition = $3 AND kafka_offset = $4
  AND published_at IS NULL
"""
_PUBLISHED = """
UPDATE dead_letters SET published_at = now()
WHERE consumer = $1 AND topic = $2 AND partition = $3 AND kafka_offset = $4
"""


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode("utf-8", "replace")
    return None


async def dead_letter(producer: AIOKafkaProducer, pool: asyncpg.Pool, consumer: str, dlt_topic: str,
                      record: ConsumerRecord, reason: str, attempts: int) -> None:
    headers = list(record.headers or ())  # kept, with key and value, for an operator's replay
    await pool.execute(_RECORD, consumer, header(record, "ce_municipality"), record.topic,
                       record.partition, record.offset, header(record, "ce_id"), reason[:2000],
                       attempts, record.key, record.value, [k for k, _ in headers],
                       [bytes(v) for _, v in headers])
    await publish_recorded(producer, pool, consumer, dlt_topic, record)


async def publish_recorded(producer: AIOKafkaProducer, pool: asyncpg.Pool, consumer: str,
                           dlt_topic: str, record: ConsumerRecord) -> None:
    """Publish the recorded dead letter of `record` unless the topic already has it."""
    source = (consumer, record.topic, record.partition, record.offset)
    row = await pool.fetchrow(_UNPUBLISHED, *source)
    if row is None:
        return
    headers = [*(record.headers or ()),
               ("dlt_reason", row["reason"].encode()),
               ("dlt_consumer", consumer.encode()),
               ("dlt_source_topic", record.topic.encode()),
               ("dlt_source_partition", str(record.partition).encode()),
               ("dlt_source_offset", str(record.offset).encode()),
               ("dlt_attempts", str(row["attempts"]).encode())]
    await producer.send_and_wait(dlt_topic, value=record.value, key=record.key, headers=headers)
    await pool.execute(_PUBLISHED, *source)
