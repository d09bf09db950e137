"""meetings' SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg


async def add(conn: asyncpg.Connection, meeting_id: uuid.UUID, municipality: str, kind: str,
              title: str, scheduled_for: datetime, user: str, at: datetime) -> None:
    await conn.execute("INSERT INTO meetings (id, municipality, kind, title, scheduled_for, "
                       "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       meeting_id, municipality, kind, title, scheduled_for, user, at)


async def get(conn: asyncpg.Connection, meeting_id: uuid.UUID, municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM meetings WHERE id = $1 AND municipality = $2",
                              meeting_id, municipality)
    return dict(row) if row else None


async def add_member(conn: asyncpg.Connection, meeting_id: uuid.UUID, user_id: str, agency: str,
                     pledged_at: datetime | None) -> bool:
    return await conn.fetchval("INSERT INTO meeting_members (meeting_id, user_id, agency, pledged_at) "
                               "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
                               meeting_id, user_id, agency, pledged_at) is not None


async def is_member(conn: asyncpg.Connection, meeting_id: uuid.UUID, user_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM meeting_members WHERE meeting_id = $1 AND "
                                    "user_id = $2", meeting_id, user_id))


async def add_agenda(conn: asyncpg.Connection, meeting_id: uuid.UUID, person_ids: list[uuid.UUID],
                     consultation_ids: list[uuid.UUID], notes: str | None, user: str,
                     at: datetime) -> None:
    await conn.execute("INSERT INTO meeting_agenda (id, meeting_id, person_ids, consultation_ids, notes, "
                       "tabled_by, tabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", uuid.uuid4(),
                       meeting_id, person_ids, consultation_ids, notes, user, at)


async def details(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> dict[str, Any]:
    members = await conn.fetch("SELECT user_id, agency, pledged_at FROM meeting_members "
                               "WHERE meeting_id = $1 ORDER BY user_id", meeting_id)
    agenda = await conn.fetch("SELECT person_ids, consultation_ids, notes, tabled_by, tabled_at "
                              "FROM meeting_agenda WHERE meeting_id = $1 ORDER BY tabled_at", meeting_id)
    return {"members": [dict(m) for m in members], "agenda": [dict(a) for a in agenda]}
