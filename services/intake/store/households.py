"""Households' SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg


async def add(conn: asyncpg.Connection, household_id: uuid.UUID, municipality: str,
              address: str | None, user: str, agency: str, at: datetime) -> None:
    await conn.execute("INSERT INTO households (id, municipality, address, created_by, created_agency, "
                       "created_at) VALUES ($1, $2, $3, $4, $5, $6)", household_id, municipality,
                       address, user, agency, at)


async def set_members(conn: asyncpg.Connection, household_id: uuid.UUID,
                      members: dict[uuid.UUID, str]) -> None:
    await conn.execute("DELETE FROM household_members WHERE household_id = $1", household_id)
    await conn.executemany("INSERT INTO household_members (household_id, person_id, relation) "
                           "VALUES ($1, $2, $3)", [(household_id, p, r) for p, r in members.items()])


async def get(conn: asyncpg.Connection, household_id: uuid.UUID,
              municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM households WHERE id = $1 AND municipality = $2",
                              household_id, municipality)
    if row is None:
        return None
    members = await conn.fetch("SELECT person_id, relation FROM household_members "
                               "WHERE household_id = $1 ORDER BY relation, person_id", household_id)
    return {**dict(row), "members": [dict(m) for m in members]}
