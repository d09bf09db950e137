"""The asyncpg pool: JSON columns come back as Python values."""

from __future__ import annotations

import json

import asyncpg


async def _init(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=_init,
                                     command_timeout=30)
    assert pool is not None
    return pool
