"""Dead-lettering: the event, untouched, plus why and where it came from.

The original key, value and headers go to the consumer's `<service>.dlt` topic with `dlt_*`
headers, so an operator can read the reason and replay the event; a row in dead_letters
keeps the count for /metrics and survives restarts.
"""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

_RECORD = """
INSERT INTO dead_letters (consumer, municipality, topic, partition, kafka_offset, message_id,
                          reason, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode("utf-8", "replace")
    return None


async def dead_letter(producer: AIOKafkaProducer, pool: asyncpg.Pool, consumer: str, dlt_topic: str,
                      record: ConsumerRecord, reason: str, attempts: int) -> None:
    headers = [*(record.headers or ()),
               ("dlt_reason", reason[:2000].encode()),
               ("dlt_consumer", consumer.encode()),
               ("dlt_source_topic", record.topic.encode()),
               ("dlt_source_partition", str(record.partition).encode()),
               ("dlt_source_offset", str(record.offset).encode()),
               ("dlt_attempts", str(attempts).encode())]
    await producer.send_and_wait(dlt_topic, value=record.value, key=record.key,
                                 headers=list(headers))
    await pool.execute(_RECORD, consumer, header(record, "ce_municipality"), record.topic,
                       record.partition, record.offset, header(record, "ce_id"), reason[:2000],
                       attempts)
