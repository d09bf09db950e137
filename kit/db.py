"""The asyncpg pool (JSON columns come back as Python values), its connections' spans, bounded
acquires, and what counts as an outage."""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind

from kit.problems import Problem

tracer = trace.get_tracer("kit.db")


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


async def connect(dsn: str, server_settings: dict[str, str] | None = None,
                  timeout: float = 60) -> asyncpg.Connection:
    """One connection outside the pool, set up as the pool's are (plus its own settings)."""
    conn = await asyncpg.connect(dsn, command_timeout=30, server_settings=server_settings,
                                 timeout=timeout)
    await _init(conn)
    return conn


class TracedConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg is untyped
    """A pool connection whose database work shows in the trace as ONE client span per run of
    statements under the same current span (a request's, an event's delivery): its database,
    how many statements it ran and the first one's operation, never the SQL. A span per
    statement (the asyncpg instrumentation's) cost intake ~12 % of its CPU and the consumers ~7 %
    (bench/PROFILE.md); a request or an event runs tens of statements.

    Each statement only compares the current span with the run's (a context variable read); a
    span is made when the run ends: at the first statement under another span (a consumer
    claims inside the event's span, commits after it) or when the connection goes back to the
    pool. Runs outside any recording span (the relay's, the timers' polls) and inside
    `suppress_instrumentation()` make none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        params = self._params
        self._attributes = {"db.system": "postgresql", "db.name": params.database,
                            "db.user": params.user}
        self._database = params.database
        self._under: object = None  # the current span of the run in hand
        self._traced = False  # the run in hand gets a span
        self._since = 0  # when the run began (ns)
        self._counted_from = 0  # the protocol's statement count then
        self._first: str | None = None  # the run's first statement with parameters

    def _see(self, query: str | None) -> None:
        current = trace.get_current_span()
        if current is not self._under:
            if self._traced:
                self._end_run()
            self._under = current
            self._traced = current.is_recording() and is_instrumentation_enabled()
            if self._traced:
                self._since = time.time_ns()
                self._counted_from = self._protocol.queries_count
                self._first = None
        if self._traced and self._first is None:
            self._first = query

    def _end_run(self) -> None:
        self._traced = False
        parent: Any = self._under
        end = time.time_ns()
        # A consumer's run is seen to end at its next statement, the commit after the event's
        # span ended: the run ends no later than its span did.
        if (parent_end := getattr(parent, "end_time", None)) is not None:
            end = max(min(end, parent_end), self._since)
        attributes: dict[str, Any] = {
            **self._attributes,
            "db.statements": self._protocol.queries_count - self._counted_from}
        name = self._database
        if self._first:
            attributes["db.operation"] = operation = self._first.split(None, 1)[0].upper()
            name = f"{operation} {name}"
        tracer.start_span(name, trace.set_span_in_context(parent), SpanKind.CLIENT, attributes,
                          start_time=self._since).end(end)

    # The three ways a statement reaches the protocol (fetch, fetchrow and fetchval go through
    # _execute; a transaction's BEGIN and COMMIT through execute without arguments). Each
    # returns the parent's coroutine: no frame added to the await.
    def execute(self, query: str, *args: Any, timeout: float | None = None) -> Any:
        if not args:  # with arguments it goes through _execute
            self._see(None)
        return super().execute(query, *args, timeout=timeout)

    def _execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._see(query)
        return super()._execute(query, *args, **kwargs)

    def _executemany(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._see(query)
        return super()._executemany(query, *args, **kwargs)

    def _on_release(self, stacklevel: int = 1) -> None:
        """Pool.release calls it, whichever way the connection was acquired."""
        if self._traced:
            self._end_run()
        self._under = None
        super()._on_release(stacklevel)


async def create_pool(dsn: str, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=_init,
                                     reset=_keep_session, command_timeout=30,
                                     connection_class=TracedConnection)
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
