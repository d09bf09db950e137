"""notifications' SQL."""

from __future__ import annotations

from typing import Any

import asyncpg

from .domain import InboxItem

_INSERT = """
INSERT INTO inbox_items (id, municipality, recipient_id, about_type, about_id, title, body,
    urgency, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (municipality, recipient_id, about_type, about_id) DO NOTHING
RETURNING id
"""
_FOR = """
SELECT id, recipient_id, about_type, about_id, title, body, urgency, created_at, read_at
FROM inbox_items WHERE municipality = $1 AND recipient_id = $2
ORDER BY created_at DESC LIMIT $3
"""


async def add(conn: asyncpg.Connection, item: InboxItem, municipality: str) -> bool:
    return await conn.fetchval(_INSERT, item.id, municipality, item.recipient_id, item.about_type,
                               item.about_id, item.title, item.body, item.urgency,
                               item.created_at) is not None


async def for_recipient(conn: asyncpg.Connection, recipient: str, municipality: str,
                        limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_FOR, municipality, recipient, limit)]
