"""referral's SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
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


_LATEST = """
SELECT revision, digest, body, published_at FROM directory_revisions WHERE municipality = $1
ORDER BY revision DESC LIMIT 1
"""


async def lock_directory(conn: asyncpg.Connection) -> None:
    """Two replicas reading the file together publish one revision, not two."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('tsunagu.referral.directory'))")


async def latest_directory(conn: asyncpg.Connection, municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(_LATEST, municipality)
    return dict(row) if row else None


async def add_directory(conn: asyncpg.Connection, revision: int, municipality: str, digest: str,
                        body: dict[str, Any], at: datetime) -> None:
    await conn.execute("INSERT INTO directory_revisions VALUES ($1, $2, $3, $4, $5)",
                       revision, municipality, digest, body, at)


async def touch_directory(conn: asyncpg.Connection, revision: int, municipality: str,
                          at: datetime) -> None:
    await conn.execute("UPDATE directory_revisions SET published_at = $3 WHERE revision = $1 AND "
                       "municipality = $2", revision, municipality, at)
