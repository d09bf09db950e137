"""The inbox consumer: Kafka events -> (inbox row + handlers) in one transaction -> offset commit.

Each partition's records are applied in order. The records of one fetch (every partition's, at most
BATCH) are applied together in one transaction and their offsets are committed once it has
committed: one COMMIT and one offset commit per fetch, not per event. The next fetch is taken from
the client and read while one is applied (never applied before it). A fetch is first tried on a
fast path: the inbox rows of all its events claimed in one statement, each run of consecutive
events of one type applied by the handlers' batch forms (`Batched`, `Staged`) in a statement or a
few, no savepoints (a fetch of one event, live traffic mostly, is claimed in the round trip of its
BEGIN). If anything in it fails, it is rolled back whole and the fetch is applied the careful way,
each event in a savepoint of its own, so the guarantees below hold whichever path applied it. The
offset committed is the one after the last record whose transaction committed, so nothing still in
flight is ever skipped (the gap faust #606 leaves with concurrency > 1). A redelivered event finds
its id in the inbox and is skipped. An event whose handler fails in a batch is rolled back to its
savepoint alone; the others commit, and it is then retried alone, as before batching (its
partition's later events wait behind it). An unreadable event, an event of a type no contract
names, or one whose handler keeps failing goes to the dead-letter topic with its reason (recorded
first: kit/dlq.py), and the partition moves on. A type the contracts name but this service does not
handle (another service's event on a shared topic) is ignored and counted; so is an unknown type a
declared rule (consumer_ignored_types) ignores. Database outages are not the event's fault: they
are retried with backoff without limit and never count toward consumer_max_attempts
(kit.db.is_outage).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import groupby, takewhile
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind
from pydantic import ValidationError

from contracts.envelope import Envelope, EventData
from contracts.registry import BY_CE_TYPE, EventSpec, owner_of, source, spec_for
from kit.db import is_outage
from kit.dlq import dead_letter, publish_recorded
from kit.kafka import VIEWS_FETCH, group_consumer, idempotent_producer, views_group
from kit.metrics import Metrics
from kit.settings import ServiceSettings
from kit.uow import UnitOfWork

log = logging.getLogger("kit.inbox")
tracer = trace.get_tracer("kit.inbox")


@dataclass
class HandlerContext:
    uow: UnitOfWork
    envelope: Envelope


Handler = Callable[[Any, HandlerContext], Awaitable[None]]
# Several handlers may subscribe to one event type (the kit's views and the service's own):
# they run in order, in the one inbox transaction, so an event is applied by all or by none.
Handlers = dict[type[EventData], list[Handler]]
BatchHandler = Callable[[list[tuple[Any, Envelope]], UnitOfWork], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A handler with a batch form: `many` applies a run of consecutive events of its type (one
    partition's, in their order, each freshly claimed) with the effect `one` has applied to each
    in turn, in a statement or a few instead of a few per event. Used on the fast path when every
    handler of the type has one; `one` everywhere else (the careful path, an operator's replay).
    A batch form records no events: a batch has no single trace to carry on."""
    one: Handler
    many: BatchHandler

    async def __call__(self, event: Any, ctx: HandlerContext) -> None:
        await self.one(event, ctx)


@dataclass(frozen=True)
class Staged:
    """A handler in two stages, for handlers whose events record events of their own: `stage`
    does one event's own work (its domain rules, its reads; the events it records and the
    outbox rows it makes) in that event's span, so what it writes carries the event's trace on,
    and returns what the event writes; `write` writes a run's staged events (consecutive events
    of one type, one partition's, in order, each freshly claimed) in one statement or a few
    instead of a round trip each. Called as a handler (the careful path, a replay), it stages
    and writes the one event."""
    stage: Callable[[Any, HandlerContext], Awaitable[Any]]
    write: Callable[[list[Any], UnitOfWork], Awaitable[None]]

    async def __call__(self, event: Any, ctx: HandlerContext) -> None:
        await self.write([await self.stage(event, ctx)], ctx.uow)


# 'fresh': claimed, apply it; 'duplicate': applied before; 'dead': dead-lettered before (a
# redelivery after the dead letter was recorded but before the offset was committed).
_CLAIM = """
WITH dead AS (SELECT 1 FROM dead_letters WHERE consumer = $1 AND topic = $3 AND partition = $4
                                           AND kafka_offset = $5),
claim AS (INSERT INTO inbox (consumer, message_id, topic, partition, kafka_offset)
          SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM dead)
          ON CONFLICT DO NOTHING RETURNING 1)
SELECT CASE WHEN EXISTS (SELECT 1 FROM dead) THEN 'dead'
            WHEN EXISTS (SELECT 1 FROM claim) THEN 'fresh' ELSE 'duplicate' END
"""

# The fast path's claim of a whole fetch (message ids unique in it): the ids it claimed, and the
# ids whose offsets were dead-lettered before (as _CLAIM's 'dead'); any other id is a duplicate.
_CLAIM_ALL = """
WITH fetched AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[])
                              AS f (message_id, topic, partition, kafka_offset)),
dead AS (SELECT f.message_id FROM fetched f JOIN dead_letters d ON d.consumer = $1
           AND d.topic = f.topic AND d.partition = f.partition AND d.kafka_offset = f.kafka_offset),
claim AS (INSERT INTO inbox (consumer, message_id, topic, partition, kafka_offset)
          SELECT $1, f.* FROM fetched f WHERE f.message_id NOT IN (SELECT message_id FROM dead)
          ON CONFLICT DO NOTHING RETURNING message_id)
SELECT message_id, 'fresh' AS claim FROM claim UNION ALL SELECT message_id, 'dead' FROM dead
"""

# A live event's claim (a fetch of one) rides in its transaction's BEGIN round trip
# (kit/uow.py `opening_with`), as PREPAREd once per session and EXECUTEd: the simple query
# protocol takes no parameters, and the same INSERT sent with its values written in cost the
# backend more in parsing and planning (+100-180 µs an event) than the round trip saved it. The
# values are written into EXECUTE, each safe as written: the consumer's and topic's names checked
# by `_name`, the id a UUID, partition and offset integers. 'INSERT 0 1': fresh; 'INSERT 0 0':
# dead-lettered before or a duplicate, which `_DEAD` tells apart (a redelivery: rare).
_CLAIM_ONE_NAME = "tsunagu_inbox_claim"
_PREPARE_CLAIM_ONE = f"""
PREPARE {_CLAIM_ONE_NAME} (text, uuid, text, int, bigint) AS
INSERT INTO inbox (consumer, message_id, topic, partition, kafka_offset)
SELECT $1, $2, $3, $4, $5
WHERE NOT EXISTS (SELECT FROM dead_letters WHERE consumer = $1 AND topic = $3 AND partition = $4
                                             AND kafka_offset = $5)
ON CONFLICT DO NOTHING
"""
_PREPARED: set[int] = set()  # the sessions (backend pids) holding it
_DEAD = """
SELECT EXISTS (SELECT FROM dead_letters WHERE consumer = $1 AND topic = $2 AND partition = $3
                                          AND kafka_offset = $4)
"""

# A replay claims the event by its id only: the dead letter of its own offset no longer bars it.
_REPLAY_CLAIM = """
INSERT INTO inbox (consumer, message_id, topic, partition, kafka_offset)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1
"""


BATCH = 1000  # records per transaction at most (a "fetch" below), their offsets committed at once
READ_STEP = 50  # records read between two turns of the event loop (`_items`)
MAX_LINKS = 128  # a batch span's links to its events' traces (the SDK's default span limit)


@dataclass
class _Item:
    """A record as read: its envelope and event (None: not for us), or why it is poison."""
    record: ConsumerRecord
    envelope: Envelope | None = None
    event: EventData | None = None
    poison: str | None = None

    @cached_property
    def trace(self) -> Any:
        """The trace context its producer sent, extracted once for the fetch's span's link and
        the event's own span."""
        assert self.envelope is not None
        return _traced(self.envelope)


class Poison(Exception):
    """The event cannot be read; retrying will not help."""


class Interrupted(Exception):
    """Shutdown came while an event was still being retried: its offset must not be committed."""


COMMIT_SECONDS = 1.0  # offsets applied are committed at most this often (and when idle)


class InboxConsumer:
    """Reads `topics` (default: every topic of `handlers`) and applies what `handlers` handle.
    `views`: the views lane (kit/service.py `lanes`): its own consumer group, batched fetches
    (kit/kafka.py VIEWS_FETCH), seeded from the service's group. Both lanes of a service claim
    the inbox and record dead letters under the one name, the service's: an event applied by
    either (or by the one consumer of a version before the lanes) is a duplicate to the other,
    and an operator's replay (kit/operators_api.py) finds every dead letter under it."""

    def __init__(self, pool: asyncpg.Pool, settings: ServiceSettings, handlers: Handlers,
                 metrics: Metrics, topics: Iterable[str] | None = None,
                 views: bool = False) -> None:
        self.pool = pool
        self.settings = settings
        self.handlers = handlers
        self.metrics = metrics
        self.name = settings.service  # the inbox's and the dead letters' consumer
        self.group = views_group(self.name) if views else self.name
        self.views = views
        self.dlt_topic = f"{settings.service}.dlt"
        self.topics = sorted(set(topics) if topics is not None
                             else {spec_for(model).topic for model in handlers})
        self.ignored_types = [p.strip() for p in settings.consumer_ignored_types.split(",")
                              if p.strip()]
        self._stopping = False
        self._unsent: dict[TopicPartition, int] = {}  # applied, offsets not committed yet
        self._committed_at = 0.0

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        while not self._stopping:
            lane = {"group_id": self.group, "seeded_from": self.name, **VIEWS_FETCH
                    } if self.views else {}
            consumer = group_consumer(
                self.settings, self.topics, f"{self.group}-inbox", enable_auto_commit=False,
                auto_offset_reset="earliest", isolation_level="read_committed", **lane)
            producer = idempotent_producer(self.settings, f"{self.group}-dlt")
            try:
                await consumer.start()
                await producer.start()
                await self._loop(consumer, producer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s: %r; reconnecting", self.group, exc)
                await asyncio.sleep(1.0)
            finally:
                await _quietly(self._commit(consumer))  # what was applied since the last commit
                await _quietly(producer.stop())
                await _quietly(consumer.stop())

    async def _loop(self, consumer: AIOKafkaConsumer, producer: Any) -> None:
        fetches = self._fetches(consumer)
        ahead = asyncio.ensure_future(anext(fetches))
        try:
            while not self._stopping:
                pending = await ahead
                empty = not pending  # `_step` empties `pending` as it applies it
                # The next records are fetched and read while these are applied: reading is
                # CPU here, applying is mostly waiting for PostgreSQL (bench/PROFILE.md,
                # "Replay"). Nothing of the next is applied, nor its offset committed, before
                # these are: the order per partition and "offsets after the commit" hold.
                ahead = asyncio.ensure_future(anext(fetches))
                done: dict[TopicPartition, int] = {}
                try:
                    while pending and not self._stopping:
                        await self._step(pending, done, producer)
                except Interrupted:
                    pass
                self._unsent.update(done)
                for tp, position in done.items():
                    self._lag(consumer, tp, position)
                # The inbox makes a redelivery harmless: offsets go at most once a second, and
                # when a fetch comes back empty, not after every fetch (at low rates that was an
                # offset commit per event per consumer, the broker's most frequent request:
                # bench/PROFILE.md).
                if self._unsent and (empty or
                                     time.monotonic() - self._committed_at >= COMMIT_SECONDS):
                    await self._commit(consumer)
        finally:
            ahead.cancel()
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved: the loop is over, whatever it was
            await fetches.aclose()

    async def _fetches(self, consumer: AIOKafkaConsumer
                       ) -> AsyncGenerator[dict[TopicPartition, list[_Item]], None]:
        """The records as read, at most BATCH at a time, each partition's in order; {} when a
        fetch comes back empty. Everything the client holds is taken at once: it asks the broker
        for a partition's next records only once it has handed over all it holds of it, so the
        next fetch is under way while these are applied."""
        while True:
            held = await consumer.getmany(timeout_ms=500)
            if not any(held.values()):
                yield {}
            while any(held.values()):
                # Records of a partition taken away (a rebalance) are left to its new owner, all
                # of them: applying a later one after leaving an earlier would break its order.
                assigned = consumer.assignment()
                held = {tp: records for tp, records in held.items() if tp in assigned}
                taken = _take(held, BATCH)
                if taken:
                    yield {tp: await self._items(records) for tp, records in taken.items()}

    async def _items(self, records: list[ConsumerRecord]) -> list[_Item]:
        """The records read, letting the event loop run between every READ_STEP of them: the
        previous records' transaction goes on with each of PostgreSQL's answers meanwhile."""
        items = []
        for start in range(0, len(records), READ_STEP):
            if start:
                await asyncio.sleep(0)
            items += [self._item(record) for record in records[start:start + READ_STEP]]
        return items

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        """Commit the offsets applied since the last commit, of partitions still assigned."""
        unsent, self._unsent = self._unsent, {}
        self._committed_at = time.monotonic()
        mine = {tp: offset for tp, offset in unsent.items() if tp in consumer.assignment()}
        if mine:
            try:
                await consumer.commit(mine)
            except CommitFailedError:  # partition moved in a rebalance: the inbox dedups
                log.info("commit refused after rebalance on %s", sorted(mine))

    def _item(self, record: ConsumerRecord) -> _Item:
        try:
            return _Item(record, *self._read(record))
        except Poison as exc:
            return _Item(record, poison=str(exc))

    async def _step(self, pending: dict[TopicPartition, list[_Item]],
                    done: dict[TopicPartition, int], producer: Any) -> None:
        """Apply each partition's leading readable records together, then the record that ended
        a partition's run: dead-lettered if unreadable, applied alone if its handler failed."""
        runs = {tp: list(takewhile(lambda i: i.poison is None, items))
                for tp, items in pending.items()}
        # Only other services' events on a shared topic: no transaction to open for nothing.
        mine = any(i.event is not None for run in runs.values() for i in run)
        applied = await self._apply_batch(runs, producer) if mine else {}
        for tp, items in list(pending.items()):
            n = applied.get(tp, len(runs[tp]))
            if n:
                done[tp] = items[n - 1].record.offset + 1
                del items[:n]
            if items:
                first = items.pop(0)
                if first.poison is not None:
                    await self._dead_letter(producer, first.record, first.poison, 1)
                elif first.envelope is not None and first.event is not None:
                    with self._span(first):  # the failed batch was its first attempt
                        await self._apply(first.record, first.envelope, first.event, producer, 1)
                done[tp] = first.record.offset + 1
            if not items:
                del pending[tp]

    async def _apply_batch(self, runs: dict[TopicPartition, list[_Item]], producer: Any
                           ) -> dict[TopicPartition, int]:
        """Apply the runs in one transaction, retried through database outages; return how many
        of each partition's records it applied (all but from the first that failed)."""
        backoff = self.settings.consumer_retry_seconds
        fast = True
        while True:
            try:
                if fast:
                    return await self._fast(runs, producer)
                return await self._transaction(runs, producer)
            except Interrupted:  # stopping while a dead letter's publish was finished
                raise
            except Exception as exc:
                if fast and not is_outage(exc):  # rolled back whole: the careful way, at once
                    log.info("consumer %s: fast path failed (%r); one savepoint per event",
                             self.name, exc)
                    fast = False
                    continue
                if not is_outage(exc):  # not one handler's (the commit?): the firsts alone
                    log.warning("consumer %s: batch failed (%r); applying one by one", self.name,
                                exc)
                    return {tp: 0 for tp in runs}
                if self._stopping:
                    raise Interrupted from exc
                log.warning("consumer %s: database unavailable (%r); retrying", self.name, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _fast(self, runs: dict[TopicPartition, list[_Item]], producer: Any
                    ) -> dict[TopicPartition, int]:
        """Apply the runs in one transaction with no savepoint: one claim for the fetch, then each
        partition's fresh events in order, a run of one type at a time. Raises (rolled back
        whole) if any handler fails; returns {}: every record applied."""
        items = [item for run in runs.values() for item in run if item.event is not None]
        if not items:
            return {}
        ids = [item.envelope.id for item in items if item.envelope is not None]
        if len(set(ids)) < len(items):
            raise ValueError("a message id twice in one fetch")  # the careful path tells them apart
        # The span holds the whole transaction, BEGIN to COMMIT: the claim of a fetch of one is
        # sent with the BEGIN, and stays in the event's trace.
        with self._fetch_span(items):
            unit = UnitOfWork(self.pool, self.settings.service, self.settings.municipality_code)
            one = items[0].record if len(items) == 1 else None
            if one is not None:
                unit.opening_with(lambda conn: self._begin_claiming(conn, ids[0], one))
            async with unit as uow:
                claims: dict[Any, str]
                if one is None:
                    claims = dict(await uow.conn.fetch(
                        _CLAIM_ALL, self.name, ids, [i.record.topic for i in items],
                        [i.record.partition for i in items], [i.record.offset for i in items]))
                elif uow.opened == "INSERT 0 1":
                    claims = {ids[0]: "fresh"}
                else:
                    dead = await uow.conn.fetchval(_DEAD, self.name, one.topic, one.partition,
                                                   one.offset)
                    claims = {ids[0]: "dead"} if dead else {}
                for run in runs.values():
                    fresh = [i for i in run if i.envelope is not None
                             and claims.get(i.envelope.id) == "fresh"]
                    for _, same in groupby(fresh, key=lambda i: type(i.event)):
                        await self._handle_run(uow, list(same), spanned=one is not None)
                await uow.commit()
        for item in items:
            assert item.envelope is not None
            await self._after(item.record, claims.get(item.envelope.id, "duplicate"), producer)
        return {}

    async def _begin_claiming(self, conn: asyncpg.Connection, message_id: Any,
                              record: ConsumerRecord) -> str:
        """BEGIN and claim a live event in one round trip (`_PREPARE_CLAIM_ONE`); the claim's
        command tag. A session is taken for prepared from the first time it is sent the PREPARE
        (which outlives a rollback), and no longer once it answers it has no such statement."""
        pid = conn.get_server_pid()  # one per session: a reconnected pool connection has a new one
        execute = (f"EXECUTE {_CLAIM_ONE_NAME} ('{_name(self.name)}', '{message_id}', "
                   f"'{_name(record.topic)}', {int(record.partition)}, {int(record.offset)})")
        begin = f"BEGIN; {execute}"
        if pid not in _PREPARED:
            _PREPARED.add(pid)
            begin = f"BEGIN; {_PREPARE_CLAIM_ONE}; {execute}"
        try:
            tag: str = await conn.execute(begin)
        except asyncpg.InvalidSQLStatementNameError:  # a new session under a pid seen before
            _PREPARED.discard(pid)
            raise
        except asyncpg.DuplicatePreparedStatementError:  # held already: its pid was forgotten
            await conn.execute("ROLLBACK")
            tag = await conn.execute(f"BEGIN; {execute}")
        return tag

    async def _handle_run(self, uow: UnitOfWork, run: list[_Item], spanned: bool) -> None:
        """Consecutive events of one type: by the batch forms if every handler has one, else one
        by one, each in its own span (what its handlers record carries its trace on) unless the
        fetch's span is already the event's own (`spanned`)."""
        events = [(item.event, item.envelope) for item in run
                  if item.event is not None and item.envelope is not None]
        handlers = self.handlers[type(events[0][0])]
        if all(isinstance(h, Batched) for h in handlers):
            for handler in handlers:
                assert isinstance(handler, Batched)
                await handler.many(events, uow)
            return
        if all(isinstance(h, Staged) for h in handlers):
            staged: list[list[Any]] = [[] for _ in handlers]
            for item, (event, envelope) in zip(run, events, strict=True):
                with nullcontext() if spanned else self._span(item):
                    ctx = HandlerContext(uow, envelope)
                    for handler, out in zip(handlers, staged, strict=True):
                        assert isinstance(handler, Staged)
                        out.append(await handler.stage(event, ctx))
                    uow.envelope_events()
            # One handler's writes for the whole run, then the next one's, as with `Batched`.
            for handler, out in zip(handlers, staged, strict=True):
                assert isinstance(handler, Staged)
                await handler.write(out, uow)
            return
        for item, (event, envelope) in zip(run, events, strict=True):
            with nullcontext() if spanned else self._span(item):
                for handler in handlers:
                    await handler(event, HandlerContext(uow, envelope))
                uow.envelope_events()

    async def _transaction(self, runs: dict[TopicPartition, list[_Item]], producer: Any
                           ) -> dict[TopicPartition, int]:
        applied: dict[TopicPartition, int] = {}
        claims: list[tuple[_Item, str]] = []
        async with UnitOfWork(self.pool, self.settings.service,
                              self.settings.municipality_code) as uow:
            savepoint = "SAVEPOINT inbox_event"
            for tp, run in runs.items():
                for n, item in enumerate(run):
                    if item.event is None:
                        continue  # another service's event on a shared topic: not for us
                    with self._span(item):
                        claim = await self._claim_and_handle(uow, item, savepoint)
                    if claim is None:
                        applied[tp] = n
                        break
                    claims.append((item, claim))
                    savepoint = "RELEASE SAVEPOINT inbox_event; SAVEPOINT inbox_event"
            await uow.commit()
        for item, claim in claims:
            await self._after(item.record, claim, producer)
        return applied

    async def _claim_and_handle(self, uow: UnitOfWork, item: _Item, savepoint: str) -> str | None:
        """The event's claim (applied if 'fresh'), or None if its handler failed: rolled back to
        its savepoint with whatever it recorded."""
        assert item.envelope is not None and item.event is not None
        await uow.conn.execute(savepoint)
        recorded, audited = len(uow.events), len(uow.audits)
        try:
            claim: str = await uow.conn.fetchval(_CLAIM, self.name, item.envelope.id,
                                                 item.record.topic, item.record.partition,
                                                 item.record.offset)
            if claim == "fresh":
                for handler in self.handlers[type(item.event)]:
                    await handler(item.event, HandlerContext(uow, item.envelope))
                uow.envelope_events()  # in this event's span: its trace goes on from there
            return claim
        except Exception as exc:
            if is_outage(exc):
                raise
            log.warning("handler failed for %s in a batch (%r); retrying it alone",
                        item.envelope.id, exc)
            await uow.conn.execute("ROLLBACK TO SAVEPOINT inbox_event")
            del uow.events[recorded:], uow.audits[audited:]
            return None

    def _span(self, item: _Item) -> Any:
        record = item.record
        return tracer.start_as_current_span(
            f"{record.topic} process", context=item.trace, kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": record.topic,
                        "messaging.message.id": str(item.envelope.id if item.envelope else ""),
                        "messaging.consumer.group.name": self.group})

    def _fetch_span(self, items: list[_Item]) -> Any:
        """The fast path's span. A fetch of one event (live traffic, mostly) is that event's span,
        so its claim stays in its trace. A bigger fetch gets one span linked to each event's
        trace (the OpenTelemetry messaging conventions' batch "process" span): a span per event
        cost more than the rest of a view's replay together (bench/PROFILE.md, "Replay"), while
        events whose handlers run one by one still get their own span inside it."""
        if len(items) == 1:
            return self._span(items[0])
        links = [Link(context) for item in items[:MAX_LINKS] if item.envelope is not None
                 and (context := trace.get_current_span(item.trace).get_span_context()
                      ).is_valid]
        topics = sorted({item.record.topic for item in items})
        return tracer.start_as_current_span(
            f"{' '.join(topics)} process", kind=SpanKind.CONSUMER, links=links,
            attributes={"messaging.system": "kafka", "messaging.destination.name": topics[0],
                        "messaging.batch.message_count": len(items),
                        "messaging.consumer.group.name": self.group})

    def _lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, position: int) -> None:
        high = consumer.highwater(tp)
        if high is not None:
            self.metrics.consumer_lag.labels(self.name, tp.topic, str(tp.partition)).set(
                max(high - position, 0))

    async def replay(self, uow: UnitOfWork, record: ConsumerRecord) -> bool:
        """Apply a dead letter's stored event in `uow`, as a delivery would: read and checked the
        same way (Poison if it still cannot be), claimed in the inbox, every handler run. False
        when there was nothing to apply (applied before, or no longer this service's business)."""
        envelope, event = self._read(record)
        if event is None:
            return False
        with tracer.start_as_current_span(f"{record.topic} replay", kind=SpanKind.CONSUMER,
                                          attributes={"messaging.message.id": str(envelope.id)}):
            claimed = await uow.conn.fetchval(_REPLAY_CLAIM, self.name, envelope.id, record.topic,
                                              record.partition, record.offset)
            if claimed is None:
                return False
            for handler in self.handlers[type(event)]:
                await handler(event, HandlerContext(uow, envelope))
        return True

    def _read(self, record: ConsumerRecord) -> tuple[Envelope, EventData | None]:
        try:
            envelope = Envelope.from_headers(record.headers or ())
        except ValidationError as exc:
            raise Poison(f"unreadable CloudEvents headers: {_brief(exc)}") from None
        if envelope.municipality != self.settings.municipality_code:
            raise Poison(f"event of municipality {envelope.municipality}, this deployment serves "
                         f"{self.settings.municipality_code}")
        spec = BY_CE_TYPE.get(envelope.type)
        _check_origin(record.topic, envelope, spec)
        if spec is None:
            if any(fnmatch.fnmatchcase(envelope.type, p) for p in self.ignored_types):
                self.metrics.events_ignored.labels(self.name, "declared rule").inc()
                return envelope, None
            raise Poison(f"unknown event type {envelope.type}: no contract names it (a newer "
                         "version than this service knows?)")
        if spec.model not in self.handlers:  # another service's event on a shared topic
            self.metrics.events_ignored.labels(self.name, "not subscribed").inc()
            return envelope, None
        try:
            return envelope, spec.model.model_validate_json(record.value or b"")
        except ValidationError as exc:
            raise Poison(f"payload does not match {envelope.type}: {_brief(exc)}") from None

    async def _apply(self, record: ConsumerRecord, envelope: Envelope, event: EventData,
                     producer: Any, failures: int = 0) -> None:
        """One event in a transaction of its own: retried through outages, dead-lettered after
        consumer_max_attempts failures of its handlers (`failures` so far)."""
        handlers = self.handlers[type(event)]
        backoff = self.settings.consumer_retry_seconds
        while True:
            try:
                async with UnitOfWork(self.pool, self.settings.service,
                                      self.settings.municipality_code) as uow:
                    claim = await uow.conn.fetchval(_CLAIM, self.name, envelope.id, record.topic,
                                                    record.partition, record.offset)
                    if claim == "fresh":
                        for handler in handlers:
                            await handler(event, HandlerContext(uow, envelope))
                        await uow.commit()
                break
            except Exception as exc:
                if is_outage(exc):
                    if self._stopping:
                        raise Interrupted from exc
                    log.warning("consumer %s: database unavailable (%r); retrying", self.name,
                                exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                failures += 1
                log.exception("handler failed for %s (attempt %d)", envelope.id, failures)
                if failures >= self.settings.consumer_max_attempts:
                    await self._dead_letter(producer, record, f"handler failed: {exc!r}", failures)
                    return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        await self._after(record, claim, producer)

    async def _after(self, record: ConsumerRecord, claim: str, producer: Any) -> None:
        """After the commit: count a duplicate; finish a dead letter's publish."""
        if claim == "duplicate":
            self.metrics.inbox_duplicates.labels(self.name).inc()
        elif claim == "dead":  # finish what the first delivery began: the publish
            await self._until_done(lambda: publish_recorded(producer, self.pool, self.name,
                                                            self.dlt_topic, record))

    async def _dead_letter(self, producer: Any, record: ConsumerRecord, reason: str,
                           attempts: int) -> None:
        log.error("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset,
                  reason)
        await self._until_done(lambda: dead_letter(producer, self.pool, self.name, self.dlt_topic,
                                                   record, reason, attempts))
        self.metrics.dead_letters.labels(self.name).inc()

    async def _until_done(self, step: Callable[[], Awaitable[None]]) -> None:
        """Retry a dead-letter step through database and broker outages (it is idempotent)."""
        backoff = self.settings.consumer_retry_seconds
        while True:
            try:
                return await step()
            except Exception as exc:
                if self._stopping:
                    raise Interrupted from exc
                log.warning("consumer %s: dead-lettering failed (%r); retrying", self.name, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


def _take(held: dict[TopicPartition, list[ConsumerRecord]], limit: int
          ) -> dict[TopicPartition, list[ConsumerRecord]]:
    """Up to `limit` of the held records, the first of each partition's, removed from `held`."""
    taken: dict[TopicPartition, list[ConsumerRecord]] = {}
    for tp, records in held.items():
        if limit <= 0:
            break
        if records:
            taken[tp], held[tp] = records[:limit], records[limit:]
            limit -= len(taken[tp])
    return taken


@cache
def _name(name: str) -> str:
    """A consumer's or topic's name, checked safe to write into SQL as a literal: Kafka's topic
    names and this kit's service names are made of these characters only."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a plain name: {name!r}")
    return name


_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def _traced(envelope: Envelope) -> Any:
    """The trace context of an event as read: its traceparent and tracestate headers, already
    decoded into its envelope (the only trace headers an event carries: contracts/envelope.py),
    not every header decoded again."""
    carrier = {"traceparent": envelope.traceparent, "tracestate": envelope.tracestate}
    return propagate.extract({k: v for k, v in carrier.items() if v is not None})


def _check_origin(topic: str, envelope: Envelope, spec: EventSpec | None) -> None:
    """Believe a stream only from its owner. The broker's ACLs keep other services off it; this
    catches what they cannot: a super user's or a misconfigured writer's forgery, and an owner
    writing another stream's event types onto its own."""
    believed = _believed_source(topic)
    if believed is not None and envelope.source != believed:
        raise Poison(f"source {envelope.source} is not the owner of {topic} ({believed})")
    if spec is not None and _TOPIC_OF[spec.model] != topic:
        raise Poison(f"{envelope.type} belongs on {spec.topic}, not on {topic}")


@cache  # per topic read (the few subscribed ones): not worked out again for every event
def _believed_source(topic: str) -> str | None:
    """The source a topic's events must carry; None for the shared topic, anyone's."""
    owner = owner_of(topic)
    return None if owner is None else source(owner)


_TOPIC_OF = {spec.model: spec.topic for spec in BY_CE_TYPE.values()}  # spec.topic, worked out once


def _brief(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])


async def _quietly(aw: Awaitable[Any]) -> None:
    try:
        await asyncio.wait_for(aw, timeout=5)
    except Exception:
        pass
