"""Unit of work: one connection, one transaction, rolled back unless committed.

`commit()` writes the recorded events to the outbox, the request's Idempotency-Key claim if it
has one (kit/idempotency.py), and the recorded audit entries to the audit trail, inside the same
transaction as the state change: an event, a claim or an audit record exists if and only if the
change it announces does. They are written by ONE statement (data-modifying CTEs), which may also
carry the unit's last write (`Write`): one round trip before COMMIT instead of up to four. The
audit records are chained after COMMIT (kit/audit.py `chain`): a unit of work takes no lock for
them.
A refusal (`audit.Denied`) raised inside is written after the rollback, on the same connection,
so it is on record although nothing else is.

`writing_at_commit()`: a unit that only reads before its commit, and writes only through
`commit(write)`, opens no transaction at all unless it holds a claim: its reads run each in its
own snapshot, and the commit's one statement is its own (implicit) transaction, without the
BEGIN and COMMIT round trips.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction

from contracts.envelope import EventData
from kit import audit, db, idempotency, outbox
from kit.idempotency import Repeated

ACQUIRE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Write:
    """A unit's last write, folded into its commit's statement: `ctes` are `name AS (...)`
    clauses with parameters $1..$len(args) (names not starting with `_`, the commit's own);
    `result` is a SELECT over them returning exactly one row, what `commit` returns."""

    ctes: str
    result: str
    args: tuple[Any, ...]


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
        self._lazy = False
        self._opening: Callable[[asyncpg.Connection], Awaitable[str]] | None = None
        self._begun = False  # BEGIN sent with `_opening`: COMMIT and ROLLBACK are ours to send
        self.opened = ""  # the command tag of `_opening`
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

    def writing_at_commit(self) -> UnitOfWork:
        """Open no transaction before the commit (`async with uow.writing_at_commit():`).

        Only for a unit whose statements before `commit(write)` are plain reads (no write, no
        FOR UPDATE/SHARE, no SET LOCAL, no advisory lock): under READ COMMITTED each statement
        takes its own snapshot inside a transaction too, so such reads see the same whether or
        not one is open, and hold nothing the write relies on. The write, its events, its audit
        records and its NOTIFY are then one statement, committed or rolled back whole by
        PostgreSQL. A claim (Idempotency-Key) still gets BEGIN and COMMIT: when another request
        holds the key, the write must be undone."""
        self._lazy = True
        return self

    def opening_with(self, begin: Callable[[asyncpg.Connection], Awaitable[str]]) -> UnitOfWork:
        """Begin the transaction with `begin(conn)`, which sends the BEGIN itself, with what rides
        in its round trip (PostgreSQL's simple query protocol runs several statements from one
        message), and returns the last one's command tag: `opened`. The inbox's claim of a live
        event: one round trip of the four its transaction took (kit/inbox.py)."""
        self._opening = begin
        return self

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await db.acquire(self._pool, self.acquire_timeout, self._watch)
        if self._lazy:
            return self
        try:
            if self._opening is not None:
                self._begun = True
                self.opened = await self._opening(self._conn)
                return self
            self._tx = self._conn.transaction()
            await self._tx.start()
        except BaseException:
            try:
                await self._roll_back_begun()
            finally:
                await self._pool.release(self._conn)
                self._conn = None
            raise
        return self

    async def commit(self, write: Write | None = None) -> dict[str, Any] | None:
        """Write the claim, outbox rows and audit records (and `write`) and commit; return the
        write's row."""
        rows = [*self.rows, *outbox.rows_for(self.events, self.service, self.municipality)]
        if self._tx is None and self.claim is not None:
            self._tx = self.conn.transaction()
            await self._tx.start()
        result = None
        if write is not None or self.claim is not None or rows or self.audits:
            args: list[Any] = [*(write.args if write else ())]
            if self.claim is not None:
                args += idempotency.take_args(self.claim)
            if rows:
                args += [*outbox.columns(rows), outbox.NOTIFY_CHANNEL]
            if self.audits:
                args.append(audit.canonicals(self.audits))
            row = await self.conn.fetchrow(
                _statement(write.ctes if write else None, write.result if write else None,
                           len(write.args) if write else 0, self.claim is not None, bool(rows),
                           bool(self.audits)), *args)
            assert row is not None
            if self.claim is not None:
                if not row["_claimed"]:
                    raise Repeated(self.claim)
                self.claim.taken = True
            if write is not None:
                result = {k: v for k, v in row.items() if k not in ("_claimed", "_notified")}
        if self._tx is not None:
            await self._tx.commit()
        elif self._begun:
            await self.conn.execute("COMMIT")
        self.committed = True
        return result

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if not self.committed and self._tx is not None:
                await self._tx.rollback()
            elif not self.committed:
                await self._roll_back_begun()
            if isinstance(exc, audit.Denied) and self._conn is not None:
                await audit.append(self._conn, exc.entry)
        finally:
            if self._conn is not None:
                await self._pool.release(self._conn)
            self._conn = self._tx = None

    async def _roll_back_begun(self) -> None:
        """ROLLBACK what `opening_with` began, if it is still open (asyncpg would do it on release
        too, but logs it as a leak: it did not start that transaction)."""
        if self._begun and self._conn is not None and self._conn.is_in_transaction():
            await self._conn.execute("ROLLBACK")


def _shifted(sql: str, by: int) -> str:
    """`sql` with its parameters $n renumbered $(n + by) (kit statements: no $ otherwise)."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + by}", sql)


@functools.lru_cache(maxsize=128)
def _statement(ctes: str | None, result: str | None, n: int, claim: bool, rows: bool,
               audits: bool) -> str:
    """The commit's one statement: the write's CTEs, then the claim, the outbox rows and their
    NOTIFY, the audit records (parameters in that order); one row: `_claimed` (how many claims
    were taken), `_notified` and the write's result. Data-modifying CTEs run whether or not they
    are read; `k` is one row, read whole, so its NOTIFY is sent exactly once."""
    parts = [ctes] if ctes else []
    claimed = notified = "NULL"
    if claim:
        parts.append(f"_claim AS ({_shifted(idempotency.TAKE, n)})")
        claimed, n = "(SELECT count(*) FROM _claim)", n + 4
    if rows:
        parts.append(f"_outbox AS ({outbox.insert(n + 1)})")
        notified = outbox.NOTIFY.format(channel=f"${n + 8}", inserted="_outbox")
        n += 8
    if audits:
        parts.append(_shifted(audit.APPEND, n))
    k = f"SELECT {claimed} AS _claimed, ({notified}) AS _notified"
    head = f"WITH {', '.join(parts)} " if parts else ""
    if result is None:
        return head + k
    return head + f"SELECT w.*, k.* FROM ({k}) k LEFT JOIN ({result}) w ON true"
