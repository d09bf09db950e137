"""The asyncpg pool: JSON columns come back as Python values; every acquire is bounded."""

from __future__ import annotations

import json

import asyncpg

from kit.problems import Problem


class PoolExhausted(Problem):
    """Every connection is busy for longer than the acquire timeout: the service is overloaded
    (or the database is away). Answered 503 with Retry-After, never a hang; a consumer retries."""

    def __init__(self, timeout: float) -> None:
        super().__init__(503, "Service busy", f"no database connection within {timeout:g} s; "
                         "try again shortly", type_="urn:tsunagu:problem:overloaded",
                         headers={"Retry-After": "2"})


async def _init(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=_init,
                                     command_timeout=30)
    assert pool is not None
    return pool


async def acquire(pool: asyncpg.Pool, timeout: float) -> asyncpg.Connection:
    """A connection within `timeout` seconds, or PoolExhausted. Release it with pool.release."""
    try:
        conn: asyncpg.Connection = await pool.acquire(timeout=timeout)
    except TimeoutError:
        raise PoolExhausted(timeout) from None
    return conn
