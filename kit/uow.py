"""Unit of work: one connection, one transaction, rolled back unless committed.

`commit()` writes the recorded events to the outbox inside the same transaction as the state
change, so an event exists if and only if the change it announces does; so does the request's
Idempotency-Key claim, if it has one (kit/idempotency.py).
"""

from __future__ import annotations

from types import TracebackType

import asyncpg
from asyncpg.transaction import Transaction

from contracts.envelope import EventData
from kit import idempotency, outbox


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool, service: str, municipality: str,
                 claim: idempotency.Claim | None = None) -> None:
        self._pool = pool
        self.claim = claim
        self.service = service
        self.municipality = municipality
        self.events: list[EventData] = []
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

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._pool.acquire()
        self._tx = self._conn.transaction()
        await self._tx.start()
        return self

    async def commit(self) -> None:
        assert self._tx is not None
        if self.claim is not None:
            await idempotency.take(self.conn, self.claim)
        await outbox.write(self.conn, self.events, self.service, self.municipality)
        await self._tx.commit()
        self.committed = True

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if not self.committed and self._tx is not None:
                await self._tx.rollback()
        finally:
            if self._conn is not None:
                await self._pool.release(self._conn)
            self._conn = self._tx = None
