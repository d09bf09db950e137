"""The inbox and dead-lettering when the database or the broker fail under them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord

from contracts.envelope import Envelope
from contracts.events.intake import ConsultationReceived
from contracts.registry import source, spec_for
from infra.local.stack import Stack
from kit.dlq import dead_letter
from kit.inbox import HandlerContext, InboxConsumer
from kit.metrics import Metrics
from kit.settings import ServiceSettings
from kit.tests.conftest import SERVICE
from tests.helpers import eventually


def _event() -> ConsultationReceived:
    return ConsultationReceived(consultation_id=uuid.uuid4(), received_at=datetime.now(UTC),
                                channel="phone", receiving_division="市民課", categories=(),
                                urgency="normal", destination_kind="general_desk")


def _headers(event: ConsultationReceived) -> list[tuple[str, bytes]]:
    spec = spec_for(event)
    return Envelope(id=uuid.uuid4(), type=spec.ce_type, source=source(spec.service), time=datetime.now(UTC),
                    subject=str(event.consultation_id), dataschema=spec.dataschema,
                    sensitivity="personal", municipality="132187").headers()


async def _publish(stack: Stack, *events: ConsultationReceived) -> None:
    producer = AIOKafkaProducer(**stack.kafka.client())
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait("intake.events", event.model_dump_json().encode(),
                                         key=str(event.consultation_id).encode(),
                                         headers=_headers(event))
    finally:
        await producer.stop()


async def _read_only(stack: Stack, on: bool) -> None:
    """A failover to a standby not yet promoted: every new session of the database is read-only."""
    admin = await asyncpg.connect(stack.postgres.superuser_dsn())
    try:
        setting = "SET default_transaction_read_only = on" if on else \
            "RESET default_transaction_read_only"
        await admin.execute(f"ALTER DATABASE tsunagu_{SERVICE} {setting}")
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = $1 AND pid <> pg_backend_pid()", f"tsunagu_{SERVICE}")
    finally:
        await admin.close()


async def test_a_read_only_database_never_dead_letters_a_valid_event(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    warm, target = _event(), _event()
    seen: list[uuid.UUID] = []

    async def handler(event: ConsultationReceived, ctx: HandlerContext) -> None:
        if event.consultation_id in (warm.consultation_id, target.consultation_id):
            seen.append(event.consultation_id)

    metrics = Metrics()
    consumer = InboxConsumer(pool, settings, {ConsultationReceived: [handler]}, metrics)
    task = asyncio.create_task(consumer.run())
    try:
        await _publish(stack, warm)
        await eventually(lambda: _true(warm.consultation_id in seen), timeout=60,
                         what="the consumer caught up")
        await _read_only(stack, True)
        try:
            await _publish(stack, target)
            # Well past consumer_max_attempts tries (0.05 s backoff, doubling, capped at 5 s).
            await asyncio.sleep(4)
            assert target.consultation_id not in seen
        finally:
            await _read_only(stack, False)
        await eventually(lambda: _true(target.consultation_id in seen), timeout=30,
                         what="the event applied once the database is writable")
    finally:
        consumer.stop()
        await task
    assert seen.count(target.consultation_id) == 1
    assert metrics.dead_letters.labels(SERVICE)._value.get() == 0
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0
    finally:
        await conn.close()
    assert str(target.consultation_id) not in await _dlt_keys(stack, f"{SERVICE}.dlt")


async def _true(value: bool) -> bool:
    return value


async def _dlt_keys(stack: Stack, topic: str) -> list[str]:
    """Every key on `topic` (read to its end)."""
    consumer = AIOKafkaConsumer(topic, **stack.kafka.client(),
                                group_id=f"test-{uuid.uuid4()}", auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    keys: list[str] = []
    try:
        empty = 0
        while empty < 3:  # three empty polls in a row: the end
            batch = await consumer.getmany(timeout_ms=500)
            empty = 0 if batch else empty + 1
            keys += [(r.key or b"").decode() for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return keys


async def test_a_dead_letter_is_recorded_first_and_published_exactly_once(
        pool: asyncpg.Pool, stack: Stack) -> None:
    dlt = f"kittest.dlt-{uuid.uuid4().hex[:8]}"  # does not exist yet: the first publish fails
    key = str(uuid.uuid4())
    record = ConsumerRecord(topic="intake.events", partition=0, offset=10**9, timestamp=0,
                            timestamp_type=0, key=key.encode(), value=b"not json", checksum=None,
                            serialized_key_size=0, serialized_value_size=0, headers=[])
    producer = AIOKafkaProducer(**stack.kafka.client(), request_timeout_ms=1500)
    await producer.start()

    async def attempt() -> Any:
        return await dead_letter(producer, pool, SERVICE, dlt, record, "unreadable", 1)

    try:
        try:
            await attempt()
            raise AssertionError("the publish to a missing topic should have failed")
        except Exception as exc:
            assert not isinstance(exc, AssertionError), exc
        row = await pool.fetchrow("SELECT * FROM dead_letters")
        assert row["reason"] == "unreadable" and row["published_at"] is None  # recorded first

        admin = AIOKafkaAdminClient(**stack.kafka.client())
        await admin.start()
        try:
            await admin.create_topics([NewTopic(dlt, 1, 1)])
        finally:
            await admin.close()
        await eventually(_succeeds(attempt), what="the retry publishing")
        await attempt()  # a redelivery after the publish: nothing more
    finally:
        await producer.stop()
    rows = await pool.fetch("SELECT published_at FROM dead_letters")
    assert len(rows) == 1 and rows[0]["published_at"] is not None
    assert await _dlt_keys(stack, dlt) == [key]


def _succeeds(step: Any) -> Any:
    async def probe() -> bool:
        try:
            await step()
        except Exception:
            return False
        return True
    return probe


async def test_unknown_types_are_dead_lettered_unless_a_declared_rule_ignores_them(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    declared = settings.model_copy(update={"consumer_ignored_types": "jp.example.*"})
    ignored, unknown, last = _event(), _event(), _event()
    seen: list[uuid.UUID] = []

    async def handler(event: ConsultationReceived, ctx: HandlerContext) -> None:
        seen.append(event.consultation_id)

    producer = AIOKafkaProducer(**stack.kafka.client())
    await producer.start()
    try:
        for event, ce_type in ((ignored, "jp.example.other_city.thing.v1"),
                               (unknown, "jp.tsunagu.intake.consultation_received.v9")):
            headers = [(k, ce_type.encode() if k == "ce_type" else v) for k, v in _headers(event)]
            await producer.send_and_wait("intake.events", event.model_dump_json().encode(),
                                         key=str(event.consultation_id).encode(), headers=headers)
    finally:
        await producer.stop()
    await _publish(stack, last)
    metrics = Metrics()
    consumer = InboxConsumer(pool, declared, {ConsultationReceived: [handler]}, metrics)
    task = asyncio.create_task(consumer.run())

    async def all_three_handled() -> bool:
        # Three keys, three partitions maybe: no event is "behind" another, so wait for each.
        dead = await pool.fetchval("SELECT count(*) FROM dead_letters WHERE reason LIKE $1",
                                   "%unknown event type jp.tsunagu.intake.consultation_received.v9%")
        return (last.consultation_id in seen and dead > 0
                and metrics.events_ignored.labels(SERVICE, "declared rule")._value.get() >= 1)

    try:
        await eventually(all_three_handled, timeout=60, what="the three events handled")
    finally:
        consumer.stop()
        await task
    assert ignored.consultation_id not in seen and unknown.consultation_id not in seen
    reasons = [r["reason"] for r in await pool.fetch("SELECT reason FROM dead_letters")]
    assert not any("jp.example" in r for r in reasons)
