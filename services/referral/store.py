"""referral's SQL."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from .domain import Referral

_INSERT = """
INSERT INTO referrals (id, municipality, consultation_id, destination_kind, to_agency, categories,
    urgency, status, requested_at, from_division, person_ids)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (municipality, consultation_id, to_agency) DO NOTHING
RETURNING id
"""
_GET = "SELECT * FROM referrals WHERE id = $1 AND municipality = $2"
_FOR_AGENCY = """
SELECT * FROM referrals WHERE municipality = $1 AND to_agency = $2
ORDER BY requested_at DESC LIMIT $3
"""


async def add(conn: asyncpg.Connection, r: Referral, municipality: str) -> bool:
    """False when this consultation already has a task for this office."""
    return await conn.fetchval(_INSERT, r.id, municipality, r.consultation_id, r.destination_kind,
                               r.to_agency, list(r.categories), r.urgency, r.status,
                               r.requested_at, r.from_division, list(r.person_ids)) is not None


async def get(conn: asyncpg.Connection, referral_id: uuid.UUID,
              municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(_GET, referral_id, municipality)
    return dict(row) if row else None


async def for_agency(conn: asyncpg.Connection, agency: str, municipality: str,
                     limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_FOR_AGENCY, municipality, agency, limit)]
