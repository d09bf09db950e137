"""The outbox relay under faults: refused rows, a frozen replica, per-key order, marks that wait."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.events.intake import ConsultationReceived
from infra.local.stack import Stack
from infra.local.topics import declared
from kit.inbox import HandlerContext, InboxConsumer
from kit.metrics import Metrics
from kit.outbox import NOTIFY_CHANNEL
from kit.relay import OutboxRelay
from kit.settings import ServiceSettings
from kit.tests.conftest import SERVICE, commit_offsets
from kit.uow import UnitOfWork
from tests.helpers import eventually

SMALL_TOPIC = "kittest.small"  # a topic whose broker limit is 1 kB


def _event(consultation_id: uuid.UUID | None = None) -> ConsultationReceived:
    return ConsultationReceived(consultation_id=consultation_id or uuid.uuid4(),
                                received_at=datetime.now(UTC), channel="phone",
                                receiving_division="市民課", categories=(), urgency="normal",
                                destination_kind="general_desk")


async def _write(pool: asyncpg.Pool, *events: ConsultationReceived, service: str = SERVICE
                 ) -> list[int]:
    async with UnitOfWork(pool, service, "132187") as uow:
        uow.record(*events)
        await uow.commit()
    rows = await pool.fetch("SELECT seq FROM outbox ORDER BY seq DESC LIMIT $1", len(events))
    return sorted(r["seq"] for r in rows)


async def _run(*relays: OutboxRelay) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(r.run()) for r in relays]


async def _stop(relays: tuple[OutboxRelay, ...], tasks: list[asyncio.Task[None]]) -> None:
    for relay in relays:
        relay.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for relay in relays:  # a cancelled (frozen) relay did not let go of its producer and lock
        await relay.close()


async def _small_topic(stack: Stack) -> None:
    admin = AIOKafkaAdminClient(**stack.kafka.client())
    await admin.start()
    try:
        if SMALL_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(SMALL_TOPIC, 1, 1,
                                                topic_configs={"max.message.bytes": "1024"})])
    finally:
        await admin.close()


async def test_rows_the_broker_refuses_are_parked_and_the_rows_behind_go_on(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    await _small_topic(stack)
    seqs = await _write(pool, *(_event() for _ in range(7)))
    missing, too_big, fine, same_key, broker_big, broker_fine, last = seqs
    await pool.execute("UPDATE outbox SET topic = 'no.such.topic' WHERE seq = $1", missing)
    await pool.execute("UPDATE outbox SET payload = jsonb_build_object('x', repeat('x', 1100000)) "
                       "WHERE seq = $1", too_big)  # over the producer's 1 MB request limit
    await pool.execute("UPDATE outbox SET key = (SELECT key FROM outbox WHERE seq = $1) "
                       "WHERE seq = $2", too_big, same_key)
    await pool.execute("UPDATE outbox SET topic = $1 WHERE seq = ANY($2::bigint[])", SMALL_TOPIC,
                       [broker_big, broker_fine])
    await pool.execute("UPDATE outbox SET payload = jsonb_build_object('x', repeat('x', 5000)) "
                       "WHERE seq = $1", broker_big)  # within ours, over the topic's limit

    metrics = Metrics()
    relay = OutboxRelay(settings, metrics)
    tasks = await _run(relay)
    try:
        async def settled() -> bool:
            return not await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL")
        await eventually(settled, timeout=60, what="every row published or parked")
    finally:
        await _stop((relay,), tasks)

    rows = {r["seq"]: r for r in await pool.fetch("SELECT * FROM outbox")}
    assert {s for s, r in rows.items() if r["published_at"]} == {fine, broker_fine, last}
    assert "unknown topic 'no.such.topic'" in rows[missing]["park_reason"]
    assert "MessageSizeTooLarge" in rows[too_big]["park_reason"]
    assert rows[same_key]["park_reason"] == f"held behind parked row {too_big} of the same key"
    assert "refused by the broker" in rows[broker_big]["park_reason"]
    assert metrics.outbox_parked._value.get() == 4


async def test_a_frozen_relay_is_fenced_and_the_standby_publishes_in_order(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    fast = settings.model_copy(update={"relay_send_timeout_seconds": 1.0,
                                       "relay_fence_seconds": 3.0, "relay_poll_seconds": 0.2})
    key = uuid.uuid4()
    seqs = await _write(pool, *(_event(key) for _ in range(8)))  # one key: one partition, in order
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM outbox ORDER BY seq")]
    frozen, standby = OutboxRelay(fast), OutboxRelay(fast)
    froze = asyncio.Event()
    send = frozen._send

    async def send_then_freeze(producer: Any, row: Any) -> Any:
        if row["seq"] == seqs[0]:
            return await send(producer, row)  # the first row leaves, then the process stops
        froze.set()
        await asyncio.Event().wait()  # never: like SIGSTOP, no timer of its own fires

    frozen._send = send_then_freeze  # type: ignore[method-assign]
    tasks = await _run(frozen)
    await asyncio.wait_for(froze.wait(), 30)
    tasks += await _run(standby)
    try:
        async def all_published() -> bool:
            return not await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        await eventually(all_published, timeout=30, what="the standby publishing every row")
    finally:
        await _stop((frozen, standby), tasks)
    assert (frozen.published, standby.published) == (0, 8)  # the frozen batch never committed
    first_seen = list(dict.fromkeys(await _on_topic(stack, str(key), len(ids))))
    assert first_seen == [str(i) for i in ids]


async def _on_topic(stack: Stack, key: str, distinct: int, records: int = 0) -> list[str]:
    """The event ids of `key` on intake.events in the order a consumer sees them (a duplicate
    each time it is there), once `distinct` ids and `records` records of it are there."""
    consumer = AIOKafkaConsumer(**stack.kafka.client(), enable_auto_commit=False)
    await consumer.start()
    seen: list[str] = []
    try:
        count_of = {t["name"]: t["partitions"] for t in declared()}
        partitions = [TopicPartition("intake.events", p) for p in range(count_of["intake.events"])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)

        async def collect() -> bool:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                seen.extend(dict(r.headers)["ce_id"].decode() for r in batch
                            if (r.key or b"").decode() == key)
            return len(set(seen)) >= distinct and len(seen) >= records
        await eventually(collect, what="the key's events on the topic")
    finally:
        await consumer.stop()
    return seen


async def test_one_live_relay_sends_each_row_once_while_its_marks_wait(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    waiting = settings.model_copy(update={"relay_mark_seconds": 1.5, "relay_poll_seconds": 0.2})
    key = uuid.uuid4()
    relay = OutboxRelay(waiting)
    tasks = await _run(relay)
    try:
        for _ in range(6):  # six commits, six wakes, while the first marks still wait
            await _write(pool, _event(key))
            await asyncio.sleep(0.05)

        async def all_published() -> bool:
            return not await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        await eventually(all_published, timeout=30, what="the marks written once due")
        ids = [str(r["id"]) for r in await pool.fetch("SELECT id FROM outbox ORDER BY seq")]
        assert relay.published == 6
    finally:
        await _stop((relay,), tasks)
    await asyncio.sleep(1)  # anything sent twice would be on the topic by now
    assert await _on_topic(stack, str(key), len(ids)) == ids  # each once, in order


async def test_a_relay_gone_before_its_marks_is_followed_by_one_sending_again_applied_once(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    events = [_event() for _ in range(3)]
    await _write(pool, *events, service="intake")  # the inbox takes intake.events from intake only
    # A consumer group of this test's own, from the topic's end: no other test's events.
    reader = settings.model_copy(update={"service": f"kittest-{uuid.uuid4().hex[:8]}"})
    await commit_offsets(stack, reader.service, "intake.events")
    gone = OutboxRelay(settings.model_copy(update={"relay_mark_seconds": 60.0}))
    assert await gone.publish_batch() == 3  # the broker acked them; their marks wait
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 3
    assert gone._conn is not None
    gone._conn.terminate()  # the process dies: no mark written, the lock let go
    await gone._drop_producer()

    follower = OutboxRelay(settings)
    tasks = await _run(follower)
    try:
        async def all_published() -> bool:
            return not await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        await eventually(all_published, timeout=30, what="the follower publishing every row")
    finally:
        await _stop((follower,), tasks)
    assert follower.published == 3  # sent again
    for event in events:
        assert len(await _on_topic(stack, str(event.consultation_id), 1, 2)) == 2

    applied: list[uuid.UUID] = []
    ours = {e.consultation_id for e in events}

    async def handler(event: ConsultationReceived, ctx: HandlerContext) -> None:
        if event.consultation_id in ours:
            applied.append(event.consultation_id)

    metrics = Metrics()
    consumer = InboxConsumer(pool, reader, {ConsultationReceived: [handler]}, metrics)
    task = asyncio.create_task(consumer.run())
    try:
        async def both_copies_met() -> bool:
            return len(set(applied)) == 3 and metrics.inbox_duplicates.labels(
                consumer.name)._value.get() >= 3
        await eventually(both_copies_met, timeout=60, what="each event and its copy consumed")
    finally:
        consumer.stop()
        await task
    assert sorted(applied) == sorted(ours)  # each applied once


async def test_a_commit_names_its_rows_and_wakes_the_relay_only_if_no_batch_took_them(
        pool: asyncpg.Pool, settings: ServiceSettings) -> None:
    listener = await asyncpg.connect(settings.database_url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.put_nowait(args[-1]))
    relay = OutboxRelay(settings)
    try:
        seqs = await _write(pool, _event(), _event())
        payload = await asyncio.wait_for(heard.get(), 10)
        assert payload == str(seqs[-1])  # the highest seq the commit wrote
        relay._notified(listener, 0, NOTIFY_CHANNEL, payload)  # came before (or during) the batch
        assert relay._wake.is_set()
        assert await relay.publish_batch() == 2
        assert not relay._wake.is_set()  # the batch took its rows: nothing left to wake for
        relay._notified(listener, 0, NOTIFY_CHANNEL, payload)  # came after the batch
        assert not relay._wake.is_set()

        later = await _write(pool, _event())
        relay._notified(listener, 0, NOTIFY_CHANNEL, await asyncio.wait_for(heard.get(), 10))
        assert relay._wake.is_set()  # a row no batch took
        assert await relay.publish_batch() == 1
        assert later[0] in relay._just_handled and not relay._wake.is_set()
        relay._notified(listener, 0, NOTIFY_CHANNEL, "")  # an operator's re-queue names no row
        assert relay._wake.is_set()
    finally:
        await relay.close()
        await listener.close()
    assert not await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
