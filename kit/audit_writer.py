"""Reads' audit records, committed in groups on a connection of their own.

Every read writes an audit record before it answers. Written one by one, each record waits for
a COMMIT of its own and its fsync (when chained at COMMIT they queued behind one another's):
that, not the reads, bounded the service (bench/reads.py). Here the records of the reads in
flight are appended together: one lock, one COMMIT for all, and each read answers only once
its record is committed, so no read is served without its record.

The writer has its own connection, outside the pool: a read holding its pool connection waits
for the writer, and the writer never waits for the pool, so the two cannot deadlock. A break-
glass read's event goes to the outbox in the same transaction as its record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from kit import audit, outbox
from kit.problems import Problem

log = logging.getLogger("kit.audit_writer")
MAX_BATCH = 500


@dataclass
class _Pending:
    entry: audit.AuditEntry
    events: list[outbox.Row]
    done: asyncio.Future[None]


class AuditUnavailable(Problem):
    def __init__(self) -> None:
        super().__init__(503, "Audit trail unavailable", "the access could not be put on record, "
                         "so it was not served; try again shortly",
                         type_="urn:tsunagu:problem:audit-unavailable", headers={"Retry-After": "2"})


class AuditWriter:
    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self._connect = connect
        self._conn: asyncpg.Connection | None = None
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._stopping = False

    async def write(self, entry: audit.AuditEntry, events: list[outbox.Row]) -> None:
        """Returns once the record (and the events) are committed; AuditUnavailable if not."""
        pending = _Pending(entry, events, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        self._wake.set()
        await asyncio.shield(pending.done)  # a client gone does not take the record with it

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not (self._stopping and not self._queue):
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit(batch)
        if self._conn is not None:
            await self._conn.close()

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
            async with self._conn.transaction():
                await audit.write_many(self._conn, [p.entry for p in batch])
                await outbox.write_rows(self._conn, [r for p in batch for r in p.events])
        except Exception:
            log.exception("audit batch of %d not written", len(batch))
            if self._conn is not None:
                self._conn.terminate()
                self._conn = None
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(AuditUnavailable())
            return
        for p in batch:
            if not p.done.done():
                p.done.set_result(None)
