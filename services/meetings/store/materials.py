"""meetings' SQL: agenda items, their materials and their minutes."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


async def item(conn: asyncpg.Connection, item_id: uuid.UUID, municipality: str) -> dict[str, Any] | None:
    """An agenda item, if it belongs to a meeting of this municipality."""
    row = await conn.fetchrow("SELECT a.id, a.meeting_id, a.person_ids, a.consultation_ids, a.tabled_by "
                              "FROM meeting_agenda a JOIN meetings m ON m.id = a.meeting_id "
                              "WHERE a.id = $1 AND m.municipality = $2", item_id, municipality)
    return dict(row) if row else None


async def items(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT id, meeting_id, person_ids, consultation_ids, tabled_by "
                            "FROM meeting_agenda WHERE meeting_id = $1 ORDER BY tabled_at, id", meeting_id)
    return [dict(r) for r in rows]


async def add(conn: asyncpg.Connection, m: dict[str, Any]) -> None:
    await conn.execute("INSERT INTO meeting_materials (id, item_id, meeting_id, service, record_type, "
                       "record_id, title, summary, presented_by, presented_at) VALUES ($1, $2, $3, $4, "
                       "$5, $6, $7, $8, $9, $10)", m["id"], m["item_id"], m["meeting_id"], m["service"],
                       m["record_type"], m["record_id"], m["title"], m["summary"], m["presented_by"],
                       m["presented_at"])


async def set_minutes(conn: asyncpg.Connection, m: dict[str, Any]) -> None:
    await conn.execute("INSERT INTO meeting_item_minutes (item_id, minutes, recorded_by, recorded_at) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT (item_id) DO UPDATE SET minutes = $2, "
                       "recorded_by = $3, recorded_at = $4", m["item_id"], m["minutes"],
                       m["recorded_by"], m["recorded_at"])


async def of_items(conn: asyncpg.Connection, item_ids: list[uuid.UUID]
                   ) -> dict[uuid.UUID, dict[str, Any]]:
    """Each item's materials and minutes (items without either have empty ones)."""
    found: dict[uuid.UUID, dict[str, Any]] = {i: {"materials": [], "minutes": None} for i in item_ids}
    for r in await conn.fetch("SELECT id, item_id, service, record_type, record_id, title, summary, "
                              "presented_by, presented_at FROM meeting_materials "
                              "WHERE item_id = ANY($1::uuid[]) ORDER BY presented_at, id", item_ids):
        found[r["item_id"]]["materials"].append(dict(r))
    for r in await conn.fetch("SELECT item_id, minutes, recorded_by, recorded_at FROM meeting_item_minutes "
                              "WHERE item_id = ANY($1::uuid[])", item_ids):
        found[r["item_id"]]["minutes"] = dict(r)
    return found
