"""Unit of work: one connection, one transaction, rolled back unless committed.

`commit()` writes the recorded events to the outbox, the request's Idempotency-Key claim if it
has one (kit/idempotency.py), and the recorded audit entries to the audit trail, inside the same
transaction as the state change: an event, a claim or an audit record exists if and only if the
change it announces does. Audit entries go last: the audit chain's lock is then held only until
COMMIT. A refusal (`audit.Denied`) raised inside is written after the rollback, on the same
connection, so it is on record although nothing else is.
"""

from __future__ import annotations

from types import TracebackType

import asyncpg
from asyncpg.transaction import Transaction

from contracts.envelope import EventData
from kit import audit, db, idempotency, outbox

ACQUIRE_TIMEOUT_SECONDS = 5.0


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool, service: str, municipality: str,
                 claim: idempotency.Claim | None = None,
                 acquire_timeout: float = ACQUIRE_TIMEOUT_SECONDS,
                 watch: db.AcquireWatch | None = None) -> None:
        self._pool = pool
        self.claim = claim
        self._watch = watch
        self.service = service
        self.municipality = municipality
        self.acquire_timeout = acquire_timeout
        self.events: list[EventData] = []
        self.rows: list[outbox.Row] = []  # events already enveloped (`envelope_events`)
        self.audits: list[audit.AuditEntry] = []
        self._conn: asyncpg.Connection | None = None
        self._tx: Transaction | None = None
        self.committed = False

    @property
    def conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn

    def record(self, *events: EventData) -> None:
        self.events.extend(events)

    def audit(self, *entries: audit.AuditEntry) -> None:
        self.audits.extend(entries)

    def envelope_events(self) -> None:
        """Envelope the events recorded so far now, in the current trace context: a batch of
        events applied in one unit of work commits outside each event's own span."""
        self.rows += outbox.rows_for(self.events, self.service, self.municipality)
        self.events.clear()

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await db.acquire(self._pool, self.acquire_timeout, self._watch)
        try:
            self._tx = self._conn.transaction()
            await self._tx.start()
        except BaseException:
            await self._pool.release(self._conn)
            self._conn = None
            raise
        return self

    async def commit(self) -> None:
        assert self._tx is not None
        if self.claim is not None:
            await idempotency.take(self.conn, self.claim)
        await outbox.write_rows(self.conn, [
            *self.rows, *outbox.rows_for(self.events, self.service, self.municipality)])
        await audit.write_many(self.conn, self.audits)  # one round trip for them all
        await self._tx.commit()
        self.committed = True

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if not self.committed and self._tx is not None:
                await self._tx.rollback()
            if isinstance(exc, audit.Denied) and self._conn is not None:
                await audit.append(self._conn, exc.entry)
        finally:
            if self._conn is not None:
                await self._pool.release(self._conn)
            self._conn = self._tx = None
