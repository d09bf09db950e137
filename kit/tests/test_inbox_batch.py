"""The inbox applies a fetch's events in one transaction: a failing or unreadable one among them
costs the others nothing, and takes effect never."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope
from contracts.events.intake import ConsultationReceived
from contracts.registry import spec_for
from infra.local.stack import Stack
from kit.inbox import HandlerContext, InboxConsumer
from kit.metrics import Metrics
from kit.settings import ServiceSettings
from tests.helpers import eventually

KEY = str(uuid.uuid4())  # one key: one partition, in this order, fetched together


def _event() -> ConsultationReceived:
    return ConsultationReceived(consultation_id=uuid.uuid4(), received_at=datetime.now(UTC),
                                channel="phone", receiving_division="市民課", categories=(),
                                urgency="normal", destination_kind="general_desk")


def _headers(event: ConsultationReceived, message_id: uuid.UUID) -> list[tuple[str, bytes]]:
    spec = spec_for(event)
    return Envelope(id=message_id, type=spec.ce_type, source="/tsunagu/intake",
                    time=datetime.now(UTC), subject=KEY, dataschema=spec.dataschema,
                    sensitivity="personal", municipality="132187").headers()


async def test_a_failing_and_an_unreadable_event_in_a_batch_cost_the_others_nothing(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    before = [_event(), _event()]
    failing, unreadable = _event(), _event()
    after = [_event(), _event()]
    goods = {e.consultation_id for e in (*before, *after)}

    async def handler(event: ConsultationReceived, ctx: HandlerContext) -> None:
        if event.consultation_id in goods or event.consultation_id == failing.consultation_id:
            ctx.uow.record(event)  # its effect: an outbox row, in the order applied
        if event.consultation_id == failing.consultation_id:
            raise ValueError("this one always fails")

    producer = AIOKafkaProducer(**stack.kafka.client("intake"))
    await producer.start()
    try:
        ids = {id(e): uuid.uuid4() for e in (*before, failing, unreadable, *after)}
        sends = []
        # ... and the first one again at the end, as a redelivery brings it (its message id)
        for event in (*before, failing, unreadable, *after, before[0]):
            value = b"{}" if event is unreadable else event.model_dump_json().encode()
            sends.append(await producer.send("intake.events", value, key=KEY.encode(),
                                             headers=_headers(event, ids[id(event)])))
        offsets = [(await s).offset for s in sends]
    finally:
        await producer.stop()
    failing_at, unreadable_at = offsets[2], offsets[3]

    metrics = Metrics()
    consumer = InboxConsumer(pool, settings, {ConsultationReceived: [handler]}, metrics)
    task = asyncio.create_task(consumer.run())

    async def dead(offset: int) -> asyncpg.Record | None:
        return await pool.fetchrow("SELECT reason, attempts FROM dead_letters WHERE consumer = $1 "
                                   "AND topic = 'intake.events' AND kafka_offset = $2",
                                   settings.service, offset)

    async def applied() -> list[str]:  # a handler may run again after a rollback: count effects
        rows = await pool.fetch("SELECT payload->>'consultation_id' AS id FROM outbox "
                                "WHERE key = ANY($1) ORDER BY seq",
                                [str(e.consultation_id) for e in (*before, failing, *after)])
        return [r["id"] for r in rows]

    async def all_done() -> bool:  # the redelivery last: skipped, counted
        duplicates = metrics.registry.get_sample_value("inbox_duplicates_total",
                                                       {"consumer": settings.service})
        return len(await applied()) == len(goods) and bool(await dead(failing_at)) and \
            bool(await dead(unreadable_at)) and bool(duplicates)
    try:
        await eventually(all_done, timeout=60, what="good events applied, both others "
                         "dead-lettered, the redelivery skipped")
    finally:
        consumer.stop()
        await task
    # each good event once, in the partition's order: the ones behind the failure waited for it;
    # the failing one's effect rolled back
    assert await applied() == [str(e.consultation_id) for e in (*before, *after)]
    failed = await dead(failing_at)
    assert failed is not None and failed["attempts"] == settings.consumer_max_attempts
    poison = await dead(unreadable_at)
    assert poison is not None and "payload does not match" in poison["reason"]
    claimed = await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1 AND topic = "
                                  "'intake.events' AND kafka_offset = ANY($2)", settings.service,
                                  offsets)
    assert claimed == len(goods)  # neither dead one holds a claim
