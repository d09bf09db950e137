"""The kit's outbox, relay and inbox against the real PostgreSQL and Kafka of the test stack."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from contracts.envelope import Envelope
from contracts.events.intake import ConsultationReceived
from contracts.registry import spec_for
from infra.local.stack import Stack
from kit.inbox import HandlerContext, InboxConsumer
from kit.metrics import Metrics
from kit.migrate import migrate
from kit.settings import ServiceSettings
from kit.tests.conftest import NO_MIGRATIONS, SERVICE
from kit.uow import UnitOfWork
from tests.helpers import eventually


def _event() -> ConsultationReceived:
    return ConsultationReceived(consultation_id=uuid.uuid4(), received_at=datetime.now(UTC),
                                channel="phone", receiving_division="市民課", categories=(),
                                urgency="normal", destination_kind="general_desk")


async def test_unit_of_work_rolls_back_unless_committed(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool, SERVICE, "132187") as uow:
        uow.record(_event())
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0

    with pytest.raises(RuntimeError):
        async with UnitOfWork(pool, SERVICE, "132187") as uow:
            uow.record(_event())
            await uow.commit()
            raise RuntimeError("after commit: the commit stands")
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_commit_writes_the_envelope_and_trace_context(pool: asyncpg.Pool) -> None:
    event = _event()
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        async with UnitOfWork(pool, SERVICE, "132187") as uow:
            uow.record(event)
            await uow.commit()
    row = await pool.fetchrow("SELECT * FROM outbox")
    assert row["key"] == str(event.consultation_id) and row["topic"] == "intake.events"
    env = Envelope.from_headers([(k, v.encode()) for k, v in row["headers"].items()])
    assert env.type == spec_for(event).ce_type and env.municipality == "132187"
    assert env.traceparent and format(span.get_span_context().trace_id, "032x") in env.traceparent
    assert row["payload"]["consultation_id"] == str(event.consultation_id)
    assert trace.get_current_span() is not span


async def test_migrations_apply_once(pool: asyncpg.Pool, settings: ServiceSettings) -> None:
    assert settings.migration_database_url
    assert await migrate(settings.migration_database_url, "tsunagu_kittest_app", SERVICE, NO_MIGRATIONS) == []
    assert await pool.fetchval("SELECT count(*) FROM schema_migrations WHERE component='kit'") >= 1


async def test_inbox_skips_redelivery_and_dead_letters_a_failing_handler(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    good, bad = _event(), _event()
    seen: list[uuid.UUID] = []

    async def handler(event: ConsultationReceived, ctx: HandlerContext) -> None:
        if event.consultation_id == bad.consultation_id:
            raise ValueError("this one always fails")
        if event.consultation_id == good.consultation_id:
            seen.append(event.consultation_id)

    producer = AIOKafkaProducer(**stack.kafka.client("intake"))
    await producer.start()
    try:
        for event in (good, good, bad):  # the same event (same ce_id) delivered twice
            headers = _headers_for(event, same_id=event is good)
            await producer.send_and_wait("intake.events", event.model_dump_json().encode(),
                                         key=str(event.consultation_id).encode(), headers=headers)
    finally:
        await producer.stop()

    consumer = InboxConsumer(pool, settings, {ConsultationReceived: [handler]}, Metrics())
    task = asyncio.create_task(consumer.run())

    async def both_done() -> bool:  # on different keys, so maybe partitions: either may be last
        return bool(seen) and bool(await pool.fetchval(
            "SELECT count(*) FROM dead_letters WHERE reason LIKE '%always fails%'"))
    try:
        await eventually(both_done, timeout=60, what="good event applied, failing one dead-lettered")
    finally:
        consumer.stop()
        await task
    assert seen == [good.consultation_id]
    # (other suites' poison events on intake.events are dead-lettered here too: pick ours)
    row = await pool.fetchrow("SELECT attempts, topic FROM dead_letters WHERE reason LIKE "
                              "'%always fails%'")
    assert row["attempts"] == settings.consumer_max_attempts and row["topic"] == "intake.events"


_GOOD_ID = uuid.uuid4()


def _headers_for(event: ConsultationReceived, same_id: bool) -> list[tuple[str, bytes]]:
    spec = spec_for(event)
    return Envelope(id=_GOOD_ID if same_id else uuid.uuid4(), type=spec.ce_type, source="/tsunagu/intake",
                    time=datetime.now(UTC), subject=str(event.consultation_id),
                    dataschema=spec.dataschema, sensitivity="personal",
                    municipality="132187").headers()
