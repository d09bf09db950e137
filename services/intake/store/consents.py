"""Consents' SQL."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from ..domain.consents import ConsentRecord

_INSERT = """
INSERT INTO consents (id, municipality, person_id, given_by, given_by_name, agencies, purposes,
    method, given_at, valid_until, evidence_ref, recorded_by, recorded_agency, all_participating,
    participating_bodies)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
"""
_COLUMNS = ("id, person_id, given_by, given_by_name, agencies, purposes, method, given_at, "
            "valid_until, evidence_ref, withdrawn_at, all_participating, withdrawn_for, "
            "participating_bodies")
_WITHDRAWN_FOR = """
WITH w AS (INSERT INTO consent_partial_withdrawals VALUES ($1, $2, $3, $4, $5))
UPDATE consents SET withdrawn_for = ARRAY(SELECT DISTINCT unnest(withdrawn_for || $2::text[]))
WHERE id = $1
"""


def _record(r: asyncpg.Record) -> ConsentRecord:
    return ConsentRecord(r["id"], r["person_id"], r["given_by"], r["given_by_name"],
                         tuple(r["agencies"]), tuple(r["purposes"]), r["method"], r["given_at"],
                         r["valid_until"], r["evidence_ref"], r["withdrawn_at"],
                         r["all_participating"], tuple(r["withdrawn_for"]),
                         tuple(r["participating_bodies"]))


async def add(conn: asyncpg.Connection, c: ConsentRecord, municipality: str, user: str,
              agency: str) -> None:
    await conn.execute(_INSERT, c.id, municipality, c.person_id, c.given_by, c.given_by_name,
                       list(c.agencies), list(c.purposes), c.method, c.given_at, c.valid_until,
                       c.evidence_ref, user, agency, c.all_participating,
                       list(c.participating_bodies))


async def get(conn: asyncpg.Connection, consent_id: uuid.UUID, municipality: str,
              for_update: bool = False) -> ConsentRecord | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM consents WHERE id = $1 AND municipality = $2"
                              + (" FOR UPDATE" if for_update else ""), consent_id, municipality)
    return _record(row) if row else None


async def of_persons(conn: asyncpg.Connection, person_ids: list[uuid.UUID]) -> list[ConsentRecord]:
    if not person_ids:  # most consultations name no one yet: no round trip for nothing
        return []
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM consents WHERE person_id = ANY($1::uuid[]) "
                            "ORDER BY given_at", person_ids)
    return [_record(r) for r in rows]


async def mark_withdrawn(conn: asyncpg.Connection, consent_id: uuid.UUID, at: datetime, user: str,
                         reason: str | None) -> None:
    await conn.execute("UPDATE consents SET withdrawn_at = $2, withdrawn_by = $3, "
                       "withdrawal_reason = $4 WHERE id = $1", consent_id, at, user, reason)


async def mark_withdrawn_for(conn: asyncpg.Connection, consent_id: uuid.UUID, bodies: list[str],
                             at: datetime, user: str, reason: str | None) -> None:
    """Withdrawn for these bodies only: the consent still covers the others."""
    await conn.execute(_WITHDRAWN_FOR, consent_id, bodies, at, user, reason)


async def due_for_expiry(conn: asyncpg.Connection, at: datetime, limit: int = 100) -> list[ConsentRecord]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM consents WHERE valid_until <= $1 AND "
                            "withdrawn_at IS NULL AND expiry_announced_at IS NULL "
                            "ORDER BY valid_until LIMIT $2 FOR UPDATE SKIP LOCKED", at, limit)
    return [_record(r) for r in rows]


async def mark_expiry_announced(conn: asyncpg.Connection, consent_id: uuid.UUID, at: datetime) -> None:
    await conn.execute("UPDATE consents SET expiry_announced_at = $2 WHERE id = $1", consent_id, at)
