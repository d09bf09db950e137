"""The outbox relay: publishes unpublished outbox rows to Kafka, in order, then marks them.

One relay at a time per service database. Each relay has one connection of its own, which
LISTENs for commits, holds a session advisory lock while it is the active relay, claims and marks
(each an autocommit statement). The lock lives and dies with the very connection that claims and
marks, so it cannot be lost while a batch goes on elsewhere (a lock on a connection apart could be
lost mid-batch and let a standby publish later rows first), and each claim, a statement taken
after the lock, sees every mark committed before it. Replicas that miss the lock wait and try
again. A frozen relay (SIGSTOP, a stalled VM) is fenced by PostgreSQL: its connection carries an
idle-session, an idle-in-transaction and a statement timeout (relay_fence_seconds; a live relay
claims at least every relay_poll_seconds), after which the server ends its session and releases
the lock; whatever the frozen relay had sent is then sent again, a duplicate the consumers' inbox
absorbs. The same holds for a crash between the broker's ack and the mark (at-least-once,
idempotent effects). Session and transaction advisory locks on one key exclude each other, so a
relay of the previous release, which locks per batch, is a standby during a rolling deploy.

Marks wait (relay_mark_seconds) and ride the claim of a later wake: at low rates a wake is one
round trip and the produce, not two round trips, and the marks of several wakes are one write and
one commit. A row the broker acked is never claimed again by the relay that sent it: the claim
skips the rows whose marks wait and those it marks itself (its snapshot does not see its own
writes). The marks are written by the claim first due, by a claim of their own when no commit
wakes the relay in time, and on close. Until then /readyz counts those rows in the backlog, and
a crash re-sends them (as a crash between the ack and the mark always could). Marks are only
ever written for rows the broker acked, so they stay true whoever writes them and when.

A row the broker refuses for good (unknown topic, too large, invalid) is parked with its reason,
counted and logged as an alert; the rows behind it go on. Later rows of the same topic and key are
parked with it ("held behind"), so no consumer sees an aggregate's later event without the earlier
one; an operator re-queues them together once the cause is fixed. Transient broker errors are
retried, in order, with a fresh producer (aiokafka's can stay wedged: aiokafka #1017).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit.db import connect
from kit.kafka import idempotent_producer
from kit.metrics import Metrics
from kit.outbox import NOTIFY_CHANNEL
from kit.settings import ServiceSettings

log = logging.getLogger("kit.relay")
tracer = trace.get_tracer("kit.relay")

# Taken once per connection and held by it; tried again at each wake while a standby.
_LOCK = "SELECT pg_try_advisory_lock(hashtext('tsunagu.outbox.relay'))"
# The claim skips the rows whose marks wait ($2); with the marks due, it writes them ($2 then
# being every mark waiting). A claim without marks stays a plain SELECT: the UPDATE's CTE, even
# with nothing to mark, cost the backend ~150 of ~290 us per claim. The payload comes as the
# JSON text PostgreSQL keeps, sent as it is: decoding it here to encode it again was ~10 % of the
# relay's CPU per row (#14).
_CLAIM = """
SELECT o.seq, o.topic, o.key, o.payload::text AS payload, o.headers,
       (SELECT min(p.seq) FROM outbox p WHERE p.parked_at IS NOT NULL AND p.published_at IS NULL
          AND p.topic = o.topic AND p.key = o.key AND p.seq < o.seq) AS behind
FROM outbox o WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.seq <> ALL($2::bigint[])
ORDER BY o.seq LIMIT $1
"""
_MARK_AND_CLAIM = ("WITH marked AS (UPDATE outbox SET published_at = now() "
                   "WHERE seq = ANY($2::bigint[]))" + _CLAIM)
# The parked rows (with why) and the published ones, in one statement: one commit. Parks are
# written at once (the next claim must not take a parked row), with every mark waiting.
_SETTLE = """
WITH parked AS (
  UPDATE outbox SET parked_at = now(), park_reason = r.reason
  FROM unnest($1::bigint[], $2::text[]) AS r(seq, reason) WHERE outbox.seq = r.seq)
UPDATE outbox SET published_at = now() WHERE seq = ANY($3::bigint[])
"""
# What the broker (or the client, before sending) refuses because of the record itself: sending
# it again cannot succeed. Producer-state errors (sequence, epoch, fencing) are not the row's.
REFUSED_FOR_GOOD: tuple[type[Exception], ...] = (
    kafka_errors.MessageSizeTooLargeError, kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError, kafka_errors.InvalidTopicError,
    kafka_errors.TopicAuthorizationFailedError, kafka_errors.CorruptRecordException,
    kafka_errors.InvalidTimestampError, kafka_errors.PolicyViolationError,
    kafka_errors.UnsupportedForMessageFormatError)


class BrokerUnavailable(Exception):
    """Talking to the broker failed; the batch is rolled back and retried with a new producer."""


class _Refused(Exception):
    """This row cannot be published, whatever the broker's state."""


class OutboxRelay:
    def __init__(self, settings: ServiceSettings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.state = "starting"  # the broker as this relay last saw it: connected / unavailable
        self.published = 0
        self.holds_lock = False  # this replica's connection holds the lock: the active one
        self._producer: AIOKafkaProducer | None = None
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        # After a broker-side refusal inside a batch, rows up to this seq go one at a time, so the
        # refusal is pinned on its own row and not on the rows sharing its request.
        self._one_by_one_until = 0
        self._drained = False  # the last batch found fewer rows than it could take
        # The seqs NOTIFYs named since the relay last woke that no batch has taken yet (None: a
        # NOTIFY naming none), and the seqs the last committed batch took.
        self._unseen: set[int | None] = set()
        self._just_handled: set[int] = set()
        # The seqs the broker acked whose marks wait, and when the oldest of them is due.
        self._unmarked: list[int] = []
        self._marks_due = 0.0

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                await self._connect()
                await self._ensure_producer()  # so /readyz reports the broker before any event
                await self.publish_batch()
                backoff = 0.2
                # A short batch took every row committed before it: wait for the next commit's
                # NOTIFY (one that came during the batch for a row it did not take wakes the relay
                # at once) rather than paying a claim to find nothing.
                if self._drained:
                    await self._sleep(self._idle_seconds())
                continue
            except asyncio.CancelledError:
                raise
            except BrokerUnavailable as exc:
                self.state = "unavailable"
                log.warning("relay: broker unavailable (%r); retrying in %.1fs", exc.__cause__,
                            backoff)
                await self._drop_producer()
            except Exception as exc:  # the database: the broker's state is unchanged
                log.warning("relay: %r; retrying in %.1fs", exc, backoff)
                await self._disconnect()
            try:  # a commit's NOTIFY does not cut the backoff short; stop() does
                await asyncio.wait_for(self._stopped.wait(), timeout=backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, 5.0)
        await self.close()

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    async def close(self) -> None:
        """Write the marks waiting, let go of the producer and the connection (and with it the
        lock). Marks that cannot be written leave their rows to be sent again."""
        marks, self._unmarked = self._unmarked, []
        if marks and self._conn is not None and not self._conn.is_closed():
            await _quietly(self._conn.execute(_SETTLE, [], [], marks))
        await self._drop_producer()
        await self._disconnect()

    async def _connect(self) -> asyncpg.Connection:
        """The relay's connection: it wakes the relay at each commit that wrote the outbox, and
        is fenced by the server (see the module's docstring)."""
        if self._conn is None or self._conn.is_closed():
            self.holds_lock = False
            fence = str(round(self.settings.relay_fence_seconds * 1000))
            self._conn = await connect(self.settings.database_url, server_settings={
                "idle_session_timeout": fence, "idle_in_transaction_session_timeout": fence,
                "statement_timeout": fence}, timeout=5)
            await self._conn.add_listener(NOTIFY_CHANNEL, self._notified)
        return self._conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        self.holds_lock = False
        # With the connection goes the lock: whichever relay holds it next sends these rows
        # again (a duplicate the inbox absorbs). Kept, they would wait on a standby for ever.
        self._unmarked = []
        await _close(conn)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        """A commit wrote outbox rows: wake, unless a batch already took them. The NOTIFY names
        the highest seq its statement wrote (kit/outbox.py); a batch that took that row took the
        rows before it too, as they were committed together and the claim goes in seq order."""
        seq = int(payload) if payload.isdigit() else None
        if seq is not None and seq in self._just_handled:
            return
        self._unseen.add(seq)
        self._wake.set()

    def _handled(self, seqs: list[int]) -> None:
        """A batch published or parked these rows. A commit's NOTIFY often comes while the batch
        that takes its rows is under way (they committed before its claim): it must not cost a
        batch that finds nothing."""
        self._just_handled = set(seqs)
        self._unseen -= self._just_handled
        if not self._unseen and not self._stopping:
            self._wake.clear()

    def _idle_seconds(self) -> float:
        """How long a drained relay waits for a commit's NOTIFY: the poll, or less when marks
        would wait longer than relay_mark_seconds (then a claim writes them)."""
        if not self._unmarked:
            return self.settings.relay_poll_seconds
        return min(self.settings.relay_poll_seconds, max(0.0, self._marks_due - time.monotonic()))

    def _marks_due_now(self) -> bool:
        """This claim writes every mark waiting: the oldest is due."""
        # asyncio may end a wait a clock tick early: such a claim still counts as on time.
        return bool(self._unmarked) and time.monotonic() >= self._marks_due - 0.005

    def _defer_marks(self, published: list[int]) -> None:
        if published and not self._unmarked:
            self._marks_due = time.monotonic() + self.settings.relay_mark_seconds
        self._unmarked = [*self._unmarked, *published]

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wake.clear()
        self._unseen.clear()  # the batch about to run takes every row committed so far

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = idempotent_producer(self.settings, f"{self.settings.service}-relay")
            try:
                await producer.start()
            except Exception as exc:
                await _quietly(producer.stop())
                raise BrokerUnavailable from exc
            self._producer = producer
            self.state = "connected"
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:  # a wedged producer may not stop cleanly; it is discarded anyway
            await _quietly(producer.stop())

    async def publish_batch(self) -> int:
        """Publish up to relay_batch rows in seq order; return how many were handled (0: idle)."""
        # Polling is not worth a trace of its own; the publish spans below are ours, not the
        # asyncpg instrumentation's, so they are still recorded.
        with suppress_instrumentation():
            return await self._publish_batch()

    async def _publish_batch(self) -> int:
        self._drained = True
        handled = await self._batch(await self._connect())
        if handled is None:
            return 0
        rows, published, parked = handled
        if published is None:  # to be sent again, one at a time
            return len(rows)
        if self._one_by_one_until and rows[-1]["seq"] >= self._one_by_one_until:
            self._one_by_one_until = 0
        for seq, reason in parked.items():
            log.error("ALERT outbox row %d parked: %s", seq, reason)
        self.metrics.outbox_parked.inc(len(parked))
        self.published += len(published)
        self._handled([*published, *parked])
        return len(rows)

    async def _batch(self, conn: asyncpg.Connection
                     ) -> tuple[list[Any], list[int] | None, dict[int, str]] | None:
        """Claim, publish, and park or leave the marks to wait; return the rows claimed, the seqs
        published (None: to be sent again) and those parked (with why), or None if there was
        nothing to claim (or another replica holds the lock)."""
        if not self.holds_lock:
            self.holds_lock = await conn.fetchval(_LOCK)
            if not self.holds_lock:
                return None  # another replica is the active one
        limit = self.settings.relay_batch
        if self._one_by_one_until:
            limit = 1
        if self._marks_due_now():
            rows = await conn.fetch(_MARK_AND_CLAIM, limit, self._unmarked)
            self._unmarked = []
        else:
            rows = await conn.fetch(_CLAIM, limit, self._unmarked)
        if not rows:
            return None
        self._drained = len(rows) < limit and not self._one_by_one_until
        producer = await self._ensure_producer()
        parked, sent = await self._send_all(producer, rows)
        published = await self._settle(sent, parked, multi=len(rows) > 1)
        if published is None:  # a broker-side refusal in a shared request: one row at a time
            self._drained = False
            return list(rows), None, {}
        if parked:
            await conn.execute(_SETTLE, list(parked), list(parked.values()),
                               [*self._unmarked, *published])
            self._unmarked = []
        else:
            self._defer_marks(published)
        return list(rows), published, parked

    async def _send_all(self, producer: AIOKafkaProducer, rows: list[Any]
                        ) -> tuple[dict[int, str], list[tuple[int, asyncio.Future[Any]]]]:
        """Hand each row to the producer in order; refusals known before sending are parked."""
        missing = await self._unknown_topics(producer, {r["topic"] for r in rows})
        parked: dict[int, str] = {}
        blocked: dict[tuple[str, str], int] = {}  # (topic, key) -> the parked seq it waits behind
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        for row in rows:
            seq, topic_key = row["seq"], (row["topic"], row["key"])
            behind = row["behind"] or blocked.get(topic_key)
            if behind is not None:
                parked[seq] = f"held behind parked row {behind} of the same key"
                continue
            try:
                if row["topic"] in missing:
                    raise _Refused(f"unknown topic {row['topic']!r}")
                sent.append((seq, await self._send(producer, row)))
            except _Refused as exc:
                parked[seq] = str(exc)
                blocked[topic_key] = seq
        return parked, sent

    async def _settle(self, sent: list[tuple[int, asyncio.Future[Any]]], parked: dict[int, str],
                      multi: bool) -> list[int] | None:
        """Wait for every ack; return the seqs published (parking refusals), or None to retry."""
        try:
            # aiokafka leaves these futures pending for as long as the broker is away: bound the
            # wait. On timeout nothing is marked and the producer is rebuilt (a late delivery by
            # the old one is a duplicate the consumers' inbox absorbs).
            results = await asyncio.wait_for(
                asyncio.gather(*(f for _, f in sent), return_exceptions=True),
                self.settings.relay_send_timeout_seconds)
        except TimeoutError as exc:
            raise BrokerUnavailable from exc
        published: list[int] = []
        for (seq, _), result in zip(sent, results, strict=True):
            if isinstance(result, REFUSED_FOR_GOOD):
                if multi:
                    self._one_by_one_until = max(s for s, _ in sent)
                    return None
                parked[seq] = f"refused by the broker: {result!r}"
            elif isinstance(result, BaseException):
                raise BrokerUnavailable from result
            else:
                published.append(seq)
        return published

    async def _unknown_topics(self, producer: AIOKafkaProducer, topics: set[str]) -> set[str]:
        """Topics the broker does not have, by fresh metadata (a send would only time out)."""
        if topics <= producer.client.cluster.topics():
            return set()
        try:
            metadata = await asyncio.wait_for(producer.client.fetch_all_metadata(),
                                              self.settings.relay_send_timeout_seconds)
        except Exception as exc:
            raise BrokerUnavailable from exc
        known: set[str] = metadata.topics()
        return topics - known

    async def _send(self, producer: AIOKafkaProducer, row: Any) -> asyncio.Future[Any]:
        try:
            stored: dict[str, str] = row["headers"]
            value, key, event_id = row["payload"].encode(), row["key"].encode(), stored["ce_id"]
        except Exception as exc:  # a row this relay cannot even read
            raise _Refused(f"unreadable outbox row: {exc!r}") from exc
        # The publish span is started, not made current: nothing runs inside it but the hand-over
        # to the producer, and attaching and detaching the context cost ~10 % of a row (#14).
        span = tracer.start_span(f"{row['topic']} publish", context=propagate.extract(stored),
                                 kind=SpanKind.PRODUCER,
                                 attributes={"messaging.system": "kafka",
                                             "messaging.destination.name": row["topic"],
                                             "messaging.message.id": event_id})
        try:
            carrier: dict[str, str] = {}
            # the publish span becomes the consumer's parent
            propagate.inject(carrier, context=trace.set_span_in_context(span))
            headers = [(k, v.encode()) for k, v in {**stored, **carrier}.items()]
            try:
                fut: asyncio.Future[Any] = await producer.send(row["topic"], value=value, key=key,
                                                               headers=headers)
            except REFUSED_FOR_GOOD as exc:  # e.g. larger than max_request_size
                raise _Refused(f"refused by the client: {exc!r}") from exc
            except Exception as exc:
                raise BrokerUnavailable from exc
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, repr(exc)))
            raise
        finally:
            span.end()
        return fut


async def _quietly(aw: Any) -> None:
    try:
        await asyncio.wait_for(aw, timeout=5)
    except Exception:
        pass


async def _close(conn: asyncpg.Connection | None) -> None:
    if conn is not None and not conn.is_closed():
        try:
            await conn.close(timeout=2)
        except Exception:
            conn.terminate()
