"""The asyncpg pool (JSON columns come back as Python values), bounded acquires, and what
counts as an outage."""

from __future__ import annotations

import json
import time

import asyncpg

from kit.problems import Problem


class PoolExhausted(Problem):
    """Every connection is busy for longer than the acquire timeout: the service is overloaded
    (or the database is away). Answered 503 with Retry-After, never a hang; a consumer retries."""

    def __init__(self, timeout: float) -> None:
        super().__init__(503, "Service busy", f"no database connection within {timeout:g} s; "
                         "try again shortly", type_="urn:tsunagu:problem:overloaded",
                         headers={"Retry-After": "2"})


# SQLSTATE classes that say the database is away or busy, not that the statement is wrong:
# 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown,
# cannot connect now), 40 transaction rollback (serialization failure, deadlock), and 25006
# read-only transaction (a failover to a standby that is not promoted yet).
_OUTAGE_CLASSES = ("08", "53", "57", "40")
_OUTAGE_STATES = ("25006",)
# asyncpg raises InterfaceError both for a closed connection and for a caller's mistake (wrong
# argument count, bad data): only the former is an outage.
_CONNECTION_STATES = ("connection is closed", "connection was closed", "pool is closing",
                      "connection has been released")


def is_outage(exc: BaseException) -> bool:
    """True if `exc` (or what it was raised from) is the database being unavailable.

    Only explicit chaining (`raise ... from`) is followed: an error raised while merely handling
    another is the new error's own.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _one_is_outage(current):
            return True
        current = current.__cause__
    return False


def _one_is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError | asyncpg.InternalClientError | PoolExhausted):
        return True  # refused/reset connections, timeouts, a protocol state broken by a restart
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state[:2] in _OUTAGE_CLASSES or state in _OUTAGE_STATES
    if isinstance(exc, asyncpg.InterfaceError):
        message = str(exc)
        return any(s in message for s in _CONNECTION_STATES)
    return False


async def _init(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's release hook: no reset query. asyncpg's default (advisory unlock, CLOSE ALL,
    UNLISTEN, RESET ALL) costs a round trip per request and per consumed batch, and undoes
    nothing here: pool connections hold no session state (every SET and set_config is
    transaction-local, every advisory lock transaction-scoped, cursors live inside transactions,
    and only the relay's own connection outside the pool LISTENs). An open transaction is still
    rolled back by asyncpg before this hook runs."""


async def connect(dsn: str) -> asyncpg.Connection:
    """One connection outside the pool, set up as the pool's are."""
    conn = await asyncpg.connect(dsn, command_timeout=30)
    await _init(conn)
    return conn


async def create_pool(dsn: str, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=_init,
                                     reset=_keep_session, command_timeout=30)
    assert pool is not None
    return pool


class AcquireWatch:
    """Do requests still get connections? Busy is not stuck: under load, connections keep
    changing hands. The pool is starved when an acquire has timed out since the last one that
    succeeded, and that success is older than `after` seconds: every connection is held by
    something that does not finish (a deadlock, a leaked connection, a lock never released).
    /healthz then fails, so the process is replaced instead of answering 503 for ever. Two
    clock reads per acquire: cheap enough for every request."""

    def __init__(self, after: float) -> None:
        self.after = after
        self.last_acquired = time.monotonic()
        self.last_timed_out = float("-inf")

    def starved_for(self) -> float | None:
        """Seconds since the last successful acquire, if the pool is starved; else None."""
        if self.last_timed_out < self.last_acquired:
            return None
        since = time.monotonic() - self.last_acquired
        return since if since > self.after else None


async def acquire(pool: asyncpg.Pool, timeout: float,
                  watch: AcquireWatch | None = None) -> asyncpg.Connection:
    """A connection within `timeout` seconds, or PoolExhausted. Release it with pool.release."""
    try:
        conn: asyncpg.Connection = await pool.acquire(timeout=timeout)
    except TimeoutError:
        if watch is not None:
            watch.last_timed_out = time.monotonic()
        raise PoolExhausted(timeout) from None
    if watch is not None:
        watch.last_acquired = time.monotonic()
    return conn
