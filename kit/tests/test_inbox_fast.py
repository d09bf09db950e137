"""The inbox's fast path (a fetch claimed in one statement, runs of one type applied by the
handlers' batch forms) keeps every guarantee of the careful path: a redelivered fetch applies
nothing twice, a failing event in a big batch is retried alone while the rest apply once, poison
goes to the dead-letter topic, and a partition's order holds across runs of mixed types."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased

from contracts.envelope import Envelope, EventData
from contracts.events.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn
from contracts.registry import source, spec_for
from infra.local.stack import Stack
from kit import inbox, views
from kit.db import create_pool
from kit.inbox import Batched, HandlerContext, Handlers, InboxConsumer, Staged, _traced
from kit.metrics import Metrics
from kit.settings import ServiceSettings
from kit.tests.conftest import commit_offsets, migrated_settings
from kit.tests.test_inbox_faults import _dlt_keys
from kit.tracing import JourneysOnly
from kit.uow import UnitOfWork
from tests.helpers import eventually

FAST = "kitfast"  # a consumer group, database and dead-letter topic of its own
TOPIC = "intake.events"
T0 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def fast(stack: Stack) -> ServiceSettings:
    return await migrated_settings(stack, FAST)


@pytest.fixture
async def pool(fast: ServiceSettings, stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(fast.database_url)
    await p.execute("DELETE FROM outbox; DELETE FROM inbox; DELETE FROM dead_letters; "
                    "DELETE FROM consent_view")
    await commit_offsets(stack, FAST, TOPIC)  # each test reads only what it publishes
    yield p
    await p.close()


def _headers(event: EventData, key: str) -> list[tuple[str, bytes]]:
    spec = spec_for(event)
    return Envelope(id=uuid.uuid4(), type=spec.ce_type, source=source("intake"),
                    time=datetime.now(UTC), subject=key, dataschema=spec.dataschema,
                    sensitivity="personal", municipality="132187").headers()


async def _publish(stack: Stack, events: Sequence[EventData | bytes]) -> list[int]:
    """On partition 0 in this order (bytes: an unreadable ConsentGranted); their offsets."""
    producer = AIOKafkaProducer(**stack.kafka.client("intake"), linger_ms=20)
    await producer.start()
    try:
        sends = []
        for event in events:
            value = event if isinstance(event, bytes) else event.model_dump_json().encode()
            headers = _headers(_granted() if isinstance(event, bytes) else event, "fast")
            sends.append(await producer.send(TOPIC, value, key=b"fast", partition=0,
                                             headers=headers))
        return [(await s).offset for s in sends]
    finally:
        await producer.stop()


def _granted() -> ConsentGranted:
    return ConsentGranted(consent_id=uuid.uuid4(), person_id=uuid.uuid4(), agencies=("city",),
                          purposes=("support",), valid_from=T0)


async def _consume(pool: asyncpg.Pool, settings: ServiceSettings, handlers: Handlers,
                   done: Callable[[Metrics], Awaitable[bool]], what: str) -> Metrics:
    metrics = Metrics()
    consumer = InboxConsumer(pool, settings, handlers, metrics)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: done(metrics), timeout=90, what=what)
    finally:
        consumer.stop()
        await task
    return metrics


async def _rows(pool: asyncpg.Pool, events: list[ConsentGranted]) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM consent_view WHERE consent_id = ANY($1)",
                                   [e.consent_id for e in events]))


def _fallbacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "fast path failed" in r.getMessage()]


async def test_a_redelivered_fetch_is_claimed_once(
        pool: asyncpg.Pool, fast: ServiceSettings, stack: Stack,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "kit.inbox")
    first = [_granted() for _ in range(300)]
    offsets = await _publish(stack, first)

    async def applied(m: Metrics) -> bool:
        return await _rows(pool, first) == len(first)
    await _consume(pool, fast, views.HANDLERS, applied, "the first 300 consents in the view")

    more = [_granted() for _ in range(50)]
    await _publish(stack, more)
    await commit_offsets(stack, FAST, TOPIC, {0: offsets[0]})  # a crash before the offset commit: all again

    async def redelivered(m: Metrics) -> bool:
        duplicates = m.registry.get_sample_value("inbox_duplicates_total", {"consumer": FAST})
        return await _rows(pool, more) == len(more) and duplicates == len(first)
    await _consume(pool, fast, views.HANDLERS, redelivered, "the redelivery skipped, the rest applied")

    assert await _rows(pool, first + more) == len(first) + len(more)
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1 AND topic = $2",
                               FAST, TOPIC) == 350
    assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0
    assert not _fallbacks(caplog)  # the fast path did it all


async def test_a_failing_event_in_a_big_batch_is_retried_alone_and_poison_goes_to_the_dlt(
        pool: asyncpg.Pool, fast: ServiceSettings, stack: Stack,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "kit.inbox")
    goods = [_granted() for _ in range(400)]
    bad = _granted()
    runs: list[int] = []

    def check(e: ConsentGranted) -> None:
        if e.consent_id == bad.consent_id:
            raise ValueError("this one always fails")

    async def one(e: ConsentGranted, ctx: HandlerContext) -> None:
        check(e)
        await views.apply_consent_granted(ctx.uow.conn, e, ctx.envelope.municipality)

    async def many(events: list[tuple[ConsentGranted, Envelope]], uow: UnitOfWork) -> None:
        runs.append(len(events))
        for e, env in events:
            check(e)
            await views.apply_consent_granted(uow.conn, e, env.municipality)

    published: list[EventData | bytes] = [*goods[:150], bad, *goods[150:250], b"{}", *goods[250:]]
    offsets = await _publish(stack, published)
    bad_at, poison_at = offsets[150], offsets[251]

    async def dead(offset: int) -> asyncpg.Record | None:
        return await pool.fetchrow("SELECT reason, attempts FROM dead_letters WHERE consumer = $1 "
                                   "AND kafka_offset = $2", FAST, offset)

    async def done(m: Metrics) -> bool:
        return await _rows(pool, goods) == len(goods) and bool(await dead(bad_at)) and \
            bool(await dead(poison_at))
    await _consume(pool, fast, {ConsentGranted: [Batched(one, many)]}, done,
                   "every good consent applied, the failing and the unreadable dead-lettered")

    assert await _rows(pool, [bad]) == 0
    claimed = await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1 AND topic = $2",
                                  FAST, TOPIC)
    assert claimed == len(goods)  # each good one once; neither dead one holds a claim
    failed, poison = await dead(bad_at), await dead(poison_at)
    assert failed is not None and failed["attempts"] == fast.consumer_max_attempts
    assert poison is not None and "payload does not match" in poison["reason"]
    assert (await _dlt_keys(stack, f"{FAST}.dlt")).count("fast") == 2
    assert _fallbacks(caplog) and max(runs) > 1  # the batches were big, and one fell back


async def test_a_partitions_order_holds_across_runs_of_mixed_types(
        pool: asyncpg.Pool, fast: ServiceSettings, stack: Stack,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "kit.inbox")
    alternating = [_granted() for _ in range(30)]  # grant, withdraw, grant, withdraw...
    blocks = [_granted() for _ in range(30)]  # 30 grants, then 30 expiries, then 10 partial ends
    at = {e.consent_id: T0 + timedelta(days=i + 1) for i, e in enumerate(alternating + blocks)}
    published: list[EventData | bytes] = []
    for e in alternating:
        published += [e, ConsentWithdrawn(consent_id=e.consent_id, person_id=e.person_id,
                                          withdrawn_at=at[e.consent_id])]
    published += blocks
    published += [ConsentExpired(consent_id=e.consent_id, person_id=e.person_id,
                                 expired_at=at[e.consent_id]) for e in blocks]
    published += [ConsentWithdrawn(consent_id=e.consent_id, person_id=e.person_id,
                                   withdrawn_at=T0, only_for=("kit-x",)) for e in blocks[:10]]

    async def expired_after_its_grant(e: ConsentExpired, ctx: HandlerContext) -> None:
        """A service's own handler, one by one among the view's batches: it sees the grant."""
        if not await ctx.uow.conn.fetchval("SELECT 1 FROM consent_view WHERE consent_id = $1",
                                           e.consent_id):
            raise AssertionError("an expiry applied before its grant")
        ctx.uow.record(e)  # its effect, in the order applied: an outbox row
    handlers: Handlers = {**views.HANDLERS,
                ConsentExpired: [*views.HANDLERS[ConsentExpired], expired_after_its_grant]}
    await _publish(stack, published)

    async def done(m: Metrics) -> bool:
        partial = await pool.fetchval("SELECT count(*) FROM consent_view WHERE "
                                      "cardinality(withdrawn_for) > 0")
        return bool(partial == 10)
    await _consume(pool, fast, handlers, done, "every event applied")

    rows = {r["consent_id"]: r for r in await pool.fetch(
        "SELECT consent_id, withdrawn_at, withdrawn_for FROM consent_view WHERE consent_id = ANY($1)",
        list(at))}
    # an end applied before its grant would leave no trace: every one is there, as sent
    assert {c: r["withdrawn_at"] for c, r in rows.items()} == at
    assert {c for c, r in rows.items() if r["withdrawn_for"] == ["kit-x"]} == \
        {e.consent_id for e in blocks[:10]}
    expiries = await pool.fetch("SELECT payload->>'consent_id' AS id FROM outbox ORDER BY seq")
    assert [r["id"] for r in expiries] == [str(e.consent_id) for e in blocks]
    assert not _fallbacks(caplog)
    assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0


async def test_a_staged_handler_writes_a_fetch_at_once_and_each_events_effects_carry_its_trace(
        pool: asyncpg.Pool, fast: ServiceSettings, stack: Stack,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each event is staged in its own span (what it records goes on with its trace), the run is
    written in one call, and a redelivery applies nothing twice."""
    caplog.set_level(logging.INFO, "kit.inbox")
    monkeypatch.setattr(inbox, "tracer", TracerProvider(sampler=ParentBased(JourneysOnly()))
                        .get_tracer("kit.inbox"))  # recording, as in a service
    grants = [_granted() for _ in range(40)]
    traces = {e.consent_id: uuid.uuid4().hex for e in grants}
    writes: list[list[uuid.UUID]] = []

    async def stage(e: ConsentGranted, ctx: HandlerContext) -> uuid.UUID:
        ctx.uow.record(e)  # an effect that carries the trace on: its outbox row
        return e.consent_id

    async def write(staged: list[uuid.UUID], uow: UnitOfWork) -> None:
        writes.append(staged)
    handlers: Handlers = {ConsentGranted: [Staged(stage, write)]}
    producer = AIOKafkaProducer(**stack.kafka.client("intake"), linger_ms=50)
    await producer.start()
    try:
        sends = [await producer.send(TOPIC, e.model_dump_json().encode(), key=b"fast",
                                     partition=0, headers=[*_headers(e, "fast"), (
                                         "traceparent",
                                         f"00-{traces[e.consent_id]}-00f067aa0ba902b7-01".encode())])
                 for e in grants]
        first = (await sends[0]).offset
    finally:
        await producer.stop()

    async def written(m: Metrics) -> bool:
        return sum(map(len, writes)) == len(grants)
    await _consume(pool, fast, handlers, written, "every grant staged and written")
    await commit_offsets(stack, FAST, TOPIC, {0: first})  # all again: duplicates, nothing staged
    await _consume(pool, fast, handlers, lambda m: _is(m.registry.get_sample_value(
        "inbox_duplicates_total", {"consumer": FAST}), len(grants)), "the redelivery skipped")

    assert [i for staged in writes for i in staged] == [e.consent_id for e in grants]
    assert len(writes) < len(grants)  # runs of many, written at once
    rows = await pool.fetch("SELECT payload->>'consent_id' AS id, headers->>'traceparent' AS tp "
                            "FROM outbox ORDER BY seq")
    assert [r["id"] for r in rows] == [str(e.consent_id) for e in grants]
    for r in rows:  # its event's trace, from a span of this consumer's (not the producer's)
        _, trace_id, span_id, _ = r["tp"].split("-")
        assert trace_id == traces[uuid.UUID(r["id"])] and span_id != "00f067aa0ba902b7"
    assert not _fallbacks(caplog)


async def _is(value: float | None, expected: int) -> bool:
    return value == expected


async def test_a_run_of_grants_stores_what_one_by_one_stores(pool: asyncpg.Pool) -> None:
    """The batch form sends a row's lists as text[] literals: every text comes back as given."""
    odd = ('a"b', "c\\d", "e,f", "{g}", "NULL", " h ", "'i'", "市役所", "\\\"")
    shapes: list[dict[str, Any]] = [
        dict(agencies=odd, purposes=("support", 'p"q'), participating_bodies=odd[::-1],
             valid_until=T0 + timedelta(days=30), all_participating=True),
        dict(agencies=("city",), purposes=("support",))]
    singles = [ConsentGranted(consent_id=uuid.uuid4(), person_id=uuid.uuid4(), valid_from=T0,
                              **shape) for shape in shapes]
    batch = [e.model_copy(update={"consent_id": uuid.uuid4()}) for e in singles]
    again = batch[0].model_copy(update={"agencies": ("other",)})  # the first of an id wins
    [granted] = views.HANDLERS[ConsentGranted]
    assert isinstance(granted, Batched)
    envelope = Envelope.from_headers(_headers(batch[0], "fast"))
    async with UnitOfWork(pool, FAST, "132187") as uow:
        for e in singles:
            await views.apply_consent_granted(uow.conn, e, "132187")
        await granted.many([(e, envelope) for e in (*batch, again)], uow)
        await uow.commit()

    async def row(e: ConsentGranted) -> dict[str, object]:
        stored = await pool.fetchrow("SELECT * FROM consent_view WHERE consent_id = $1",
                                     e.consent_id)
        assert stored is not None
        return {k: v for k, v in stored.items() if k not in ("consent_id", "updated_at")}
    for single, batched in zip(singles, batch, strict=True):
        assert await row(batched) == await row(single)
    assert (await row(batch[0]))["agencies"] == list(odd)


def test_an_events_spans_and_links_go_on_with_the_trace_its_headers_carry() -> None:
    """The trace is read from the envelope, not from the headers decoded again: the same."""
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    for extra in ([("traceparent", parent.encode())],
                  [("traceparent", parent.encode()), ("tracestate", b"vendor=opaque")], []):
        headers = [*_headers(_granted(), "fast"), *extra]
        read = trace.get_current_span(_traced(Envelope.from_headers(headers))).get_span_context()
        sent = propagate.extract({k: v.decode() for k, v in headers})
        assert read == trace.get_current_span(sent).get_span_context()
        assert read.is_valid == bool(extra)


async def test_live_events_one_fetch_each_cost_an_offset_commit_at_most_once_a_second(
        pool: asyncpg.Pool, fast: ServiceSettings, stack: Stack,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """At low rates each event is a fetch of its own: committing offsets after every fetch was
    the broker's most frequent request (bench/PROFILE.md). The inbox makes a redelivery harmless,
    so offsets go at most once a second (and when a fetch comes back empty)."""
    commits: list[float] = []
    real = AIOKafkaConsumer.commit

    async def counted(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> None:
        commits.append(time.monotonic())
        await real(self, *args, **kwargs)
    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)
    warm, events = _granted(), [_granted() for _ in range(30)]
    consumer = InboxConsumer(pool, fast, views.HANDLERS, Metrics())
    task = asyncio.create_task(consumer.run())
    producer = AIOKafkaProducer(**stack.kafka.client("intake"))
    await producer.start()
    try:
        async def publish(event: ConsentGranted) -> None:
            await producer.send_and_wait(TOPIC, event.model_dump_json().encode(), key=b"fast",
                                         partition=0, headers=_headers(event, "fast"))
        await publish(warm)  # the consumer has joined once it is applied
        await eventually(lambda: _rows(pool, [warm]), timeout=60, what="the first applied")
        started = time.monotonic()
        for event in events:  # a live trickle: 40 ms apart, each a fetch of its own
            await publish(event)
            await asyncio.sleep(0.04)
        took = time.monotonic() - started
        async def all_applied() -> bool:
            return await _rows(pool, events) == len(events)
        await eventually(all_applied, timeout=60, what="all applied")
    finally:
        await producer.stop()
        consumer.stop()
        await task
    during = [t for t in commits if started <= t <= started + took]
    assert len(during) <= took + 1, (len(during), round(took, 2))


async def test_live_events_claimed_with_their_begin_apply_once_even_when_a_session_lost_its_claim(
        pool: asyncpg.Pool, fast: ServiceSettings, stack: Stack,
        caplog: pytest.LogCaptureFixture) -> None:
    """A fetch of one event claims it in its BEGIN's round trip, by a statement each session
    prepares once. A redelivered copy (its id again) is a duplicate; a session that no longer
    holds the statement costs that event the careful path, and the next one prepares it again."""
    caplog.set_level(logging.INFO, "kit.inbox")
    events = [_granted() for _ in range(4)]
    metrics = Metrics()
    consumer = InboxConsumer(pool, fast, views.HANDLERS, metrics)
    task = asyncio.create_task(consumer.run())
    producer = AIOKafkaProducer(**stack.kafka.client("intake"))
    await producer.start()
    try:
        async def publish(event: ConsentGranted, headers: list[tuple[str, bytes]]) -> None:
            await producer.send_and_wait(TOPIC, event.model_dump_json().encode(), key=b"fast",
                                         partition=0, headers=headers)
        first = _headers(events[0], "fast")
        await publish(events[0], first)
        await eventually(lambda: _rows(pool, events[:1]), timeout=60, what="the first applied")
        await publish(events[0], first)  # the same event again, a fetch of its own

        async def duplicate() -> bool:
            return metrics.registry.get_sample_value(
                "inbox_duplicates_total", {"consumer": FAST}) == 1
        await eventually(duplicate, what="the copy counted a duplicate")
        assert not _fallbacks(caplog)
        conns = [await pool.acquire(timeout=10) for _ in range(pool.get_size())]
        for conn in conns:  # as a session that never prepared it, under a pid seen before
            with contextlib.suppress(asyncpg.InvalidSQLStatementNameError):
                await conn.execute("DEALLOCATE tsunagu_inbox_claim")
            await pool.release(conn)
        for event in events[1:]:
            await publish(event, _headers(event, "fast"))
            await asyncio.sleep(0.3)  # each a fetch of its own

        async def all_applied() -> bool:
            return await _rows(pool, events) == len(events)
        await eventually(all_applied, what="all applied")
    finally:
        await producer.stop()
        consumer.stop()
        await task
    assert await _rows(pool, events) == len(events)
    copied = Envelope.from_headers(first).id
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1 AND message_id = $2",
                               FAST, copied) == 1
    assert len(_fallbacks(caplog)) <= 1  # the first event after DEALLOCATE, then prepared again
