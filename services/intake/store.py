"""intake's SQL."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from .domain import Consultation

_INSERT = """
INSERT INTO consultations (id, municipality, received_at, channel, receiving_division, received_by,
    main_complaint, categories, urgency, destination_kind, destination_agency)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""
_GET = "SELECT * FROM consultations WHERE id = $1 AND municipality = $2"


async def add(conn: asyncpg.Connection, c: Consultation, municipality: str) -> None:
    await conn.execute(_INSERT, c.id, municipality, c.received_at, c.channel, c.receiving_division,
                       c.received_by, c.main_complaint, list(c.categories), c.urgency,
                       c.destination.kind, c.destination.agency)


async def get(conn: asyncpg.Connection, consultation_id: uuid.UUID,
              municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(_GET, consultation_id, municipality)
    return dict(row) if row else None
