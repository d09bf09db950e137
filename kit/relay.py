"""The outbox relay: publishes unpublished outbox rows to Kafka, in order, then marks them.

One active relay per service: it holds a session advisory lock on a connection of its own;
a second replica waits in standby. A crash between the broker's ack and the UPDATE publishes a
row twice; consumers absorb that through their inbox (at-least-once, idempotent effects).
Any error talking to the broker discards the producer and builds a new one, since an aiokafka
producer can stay wedged after fencing, sequence errors or timeouts (aiokafka #1017).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Literal

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind

from kit.kafka import idempotent_producer
from kit.outbox import NOTIFY_CHANNEL
from kit.settings import ServiceSettings

log = logging.getLogger("kit.relay")
tracer = trace.get_tracer("kit.relay")

BrokerState = Literal["starting", "connected", "unavailable", "standby"]

_CLAIM = """
SELECT seq, topic, key, payload, headers FROM outbox
WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
"""
_MARK = "UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])"


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, settings: ServiceSettings) -> None:
        self.pool = pool
        self.settings = settings
        self.state: BrokerState = "starting"
        self.published = 0
        self.holds_lock = False  # this replica is the active relay
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        backoff = 0.2
        lock_conn: asyncpg.Connection | None = None
        while not self._stopping:
            try:
                if lock_conn is None or lock_conn.is_closed():
                    lock_conn = await self._lock_connection()
                    self.holds_lock = lock_conn is not None
                if lock_conn is None:
                    self.state = "standby"
                    await self._sleep(self.settings.relay_poll_seconds)
                    continue
                await self._ensure_producer()  # so /readyz reports the broker before any event
                sent = await self.publish_batch()
                backoff = 0.2
                if sent < self.settings.relay_batch:
                    await self._sleep(self.settings.relay_poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Start over on any failure: a fresh producer (it may be wedged) and a fresh
                # lock connection. The rows stay unpublished and are retried, in order.
                if not isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError)):
                    self.state = "unavailable"
                log.warning("relay: %r; retrying in %.1fs", exc, backoff)
                await self._drop_producer()
                await _close(lock_conn)
                lock_conn, self.holds_lock = None, False
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        await self._drop_producer()
        await _close(lock_conn)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _lock_connection(self) -> asyncpg.Connection | None:
        conn = await asyncpg.connect(self.settings.database_url)
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext('tsunagu.outbox.relay'))"):
            await conn.close()
            return None
        await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        return conn

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = idempotent_producer(self.settings, f"{self.settings.service}-relay")
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
            self.state = "connected"
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=5)
            except Exception:  # a wedged producer may not stop cleanly; it is discarded anyway
                pass

    async def publish_batch(self) -> int:
        """Publish up to relay_batch rows in seq order; return how many were published."""
        # Polling is not worth a trace of its own; the publish spans below are ours, not the
        # asyncpg instrumentation's, so they are still recorded.
        with suppress_instrumentation():
            return await self._publish_batch()

    async def _publish_batch(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM, self.settings.relay_batch)
            if not rows:
                return 0
            producer = await self._ensure_producer()
            pending = [await self._send(producer, row) for row in rows]
            # Every row acked by the broker (acks=all). aiokafka leaves these futures pending for
            # as long as the broker is away, so bound the wait: on timeout the rows stay
            # unpublished and the producer is rebuilt (a late delivery by the old one is a
            # duplicate the consumers' inbox absorbs).
            await asyncio.wait_for(asyncio.gather(*pending), self.settings.relay_send_timeout_seconds)
            await conn.execute(_MARK, [r["seq"] for r in rows])
        self.published += len(rows)
        return len(rows)

    async def _send(self, producer: AIOKafkaProducer, row: Any) -> asyncio.Future[Any]:
        stored: dict[str, str] = row["headers"]
        parent = propagate.extract(stored)
        with tracer.start_as_current_span(f"{row['topic']} publish", context=parent,
                                          kind=SpanKind.PRODUCER,
                                          attributes={"messaging.system": "kafka",
                                                      "messaging.destination.name": row["topic"],
                                                      "messaging.message.id": stored["ce_id"]}):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)  # the publish span becomes the consumer's parent
            headers = [(k, v.encode()) for k, v in {**stored, **carrier}.items()]
            value = json.dumps(row["payload"], ensure_ascii=False, separators=(",", ":")).encode()
            fut: asyncio.Future[Any] = await producer.send(row["topic"], value=value,
                                                           key=row["key"].encode(),
                                                           headers=headers)
            return fut


async def _close(conn: asyncpg.Connection | None) -> None:
    if conn is not None and not conn.is_closed():
        try:
            await conn.close(timeout=2)
        except Exception:
            conn.terminate()
