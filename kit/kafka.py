"""aiokafka clients configured the one way the kit uses them: SASL/SCRAM over TLS, always."""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context

from kit.settings import ServiceSettings

log = logging.getLogger("kit.kafka")


def sasl_ssl(bootstrap: str, username: str, password: str, ca_file: str | None = None,
             mechanism: str = "SCRAM-SHA-512") -> dict[str, Any]:
    """Connection kwargs every aiokafka client (producer, consumer, admin) takes."""
    # create_ssl_context verifies the broker's certificate and host name against ca_file
    # (or the system's trust store when None).
    return {"bootstrap_servers": bootstrap, "security_protocol": "SASL_SSL",
            "sasl_mechanism": mechanism, "sasl_plain_username": username,
            "sasl_plain_password": password, "ssl_context": create_ssl_context(cafile=ca_file)}


def connection(settings: ServiceSettings) -> dict[str, Any]:
    """The service's own credentials from its settings; refuses when none are configured."""
    if settings.kafka_password is None:
        prefix = settings.service.upper()
        raise RuntimeError(f"{settings.service}: no Kafka password configured "
                           f"({prefix}_KAFKA_PASSWORD or TSUNAGU_KAFKA_PASSWORD)")
    return sasl_ssl(settings.kafka_bootstrap, settings.kafka_username or settings.service,
                    settings.kafka_password.get_secret_value(), settings.kafka_ca_file,
                    settings.kafka_sasl_mechanism)


def idempotent_producer(settings: ServiceSettings, client_id: str) -> AIOKafkaProducer:
    # acks=all + idempotence: a retried send cannot duplicate or reorder within a partition.
    return AIOKafkaProducer(**connection(settings), client_id=client_id, acks="all",
                            enable_idempotence=True, request_timeout_ms=10000,
                            retry_backoff_ms=200, linger_ms=0, partitioner=by_key)


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's Utils.murmur2, as aiokafka's `murmur2` computes it),
    over whole little-endian words at once: aiokafka's byte-by-byte loop was ~14 % of the relay's
    hand-over of a row to the producer (#14). kit/tests/test_kafka_partitioner.py holds it to
    aiokafka's on every length."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    length = len(data)
    h = 0x9747B28C ^ length
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * m) & mask
        k = ((k ^ (k >> 24)) * m) & mask
        h = ((h * m) & mask) ^ k
    tail, rest = words * 4, length & 3
    if rest >= 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h = ((h ^ data[tail]) * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    return h ^ (h >> 15)


def by_key(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's DefaultPartitioner with the faster murmur2: a key lands on the partition every
    Kafka client (and this service's earlier releases) puts it on, so per-key order holds across
    a rolling deploy. The kit always sends a key; without one, any available partition."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


def views_group(service: str) -> str:
    """The consumer group of a service's views lane (kit/service.py `lanes`); its ACLs allow it
    beside the service's own group (infra/kafka/acls.json)."""
    return f"{service}-views"


# The views lane's fetches: the broker answers when it holds this much for the consumer or after
# this wait, so view-only records (another service's consents or directory, mostly skipped) come
# a few times a second in batches, not one wake-up per record. It adds at most ~2 waits to a
# view's staleness: a partition whose records were just handed over joins the next fetch only
# after the one in flight returns (aiokafka keeps one per broker).
VIEWS_FETCH: dict[str, Any] = {"fetch_min_bytes": 1 << 20, "fetch_max_wait_ms": 500}


def group_consumer(settings: ServiceSettings, topics: list[str], client_id: str,
                   group_id: str | None = None, seeded_from: str | None = None,
                   **options: Any) -> AIOKafkaConsumer:
    """A consumer of `topics` in the service's group (or `group_id`). `seeded_from`: a partition
    this group has never committed starts where that group committed it (`SeededFrom`).
    The service's group is its name: its ACLs allow that group and its views group, no other.
    aiokafka's fetch_max_wait_ms (0.5 s) is kept for the main lane. Tried at 5 s (wave 6), so an
    idle consumer would poll less: the journey stalled at 100/s (62 consultations/s through,
    p50 4 s), as records on a partition left out of a fetch in flight waited for the broker to
    give it up."""
    consumer = AIOKafkaConsumer(**connection(settings), group_id=group_id or settings.service,
                                client_id=client_id, **options)
    listener = SeededFrom(settings, consumer, seeded_from) if seeded_from else None
    consumer.subscribe(topics, listener=listener)
    return consumer


class SeededFrom(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions the consumer's group has never committed start at the offset another group
    (the service's own) committed, not at the topic's beginning. A rolling deploy that moves a
    topic to a new group (the views lane) so goes on where the old consumer stopped, instead of
    re-reading the topic from offset zero while new events wait behind it. The inbox and the
    view handlers make any re-read harmless, so a lookup that fails only costs that re-read
    (auto_offset_reset earliest), never an event: offsets are committed after their effects,
    so the other group's offset never passes an event it did not apply. The partitions are
    paused while it looks, so no record is fetched from the wrong offset meanwhile."""

    def __init__(self, settings: ServiceSettings, consumer: AIOKafkaConsumer, group: str) -> None:
        self.settings = settings
        self.consumer = consumer
        self.group = group

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.consumer.pause(*assigned)
        try:
            await asyncio.wait_for(self._seek(assigned), timeout=10)
        except Exception as exc:
            log.warning("offsets of %s not looked up (%r): unseen partitions start from the "
                        "beginning", self.group, exc)
        finally:
            self.consumer.resume(*(assigned & self.consumer.assignment()))

    async def _seek(self, assigned: set[TopicPartition]) -> None:
        unseen = [tp for tp in sorted(assigned) if await self.consumer.committed(tp) is None]
        if not unseen:
            return
        admin = AIOKafkaAdminClient(**connection(self.settings),
                                    client_id=f"{self.settings.service}-offsets")
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.group, partitions=unseen)
        finally:
            await admin.close()
        for tp, committed in offsets.items():
            if committed.offset >= 0 and tp in self.consumer.assignment():
                self.consumer.seek(tp, committed.offset)
