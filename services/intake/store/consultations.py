"""Consultations' SQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from kit.uow import Write

from ..domain.consultations import Consultation

# The consultation, its persons and the receiver's copy in one statement (one round trip; the
# foreign keys of the links and the copy are checked at its end, where the consultation exists).
# A route folds it into its unit of work's commit (`write`): the same statement then also writes
# the events, the audit records and the claim.
_CTES = """
c AS (
    INSERT INTO consultations (id, municipality, received_at, channel, receiving_division,
        received_by, main_complaint, categories, urgency, destination_kind, destination_agency,
        household_id, handover, intake_sheet, health_notes)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    RETURNING *),
linked AS (
    INSERT INTO consultation_persons (consultation_id, person_id, present)
    SELECT $1, p, p = ANY($17::uuid[]) FROM unnest($16::uuid[]) p),
copied AS (
    INSERT INTO handover_copies (id, municipality, consultation_id, to_office, to_legal_body,
        consent_ids, handed_over_at, handed_over_by, disclosed)
    SELECT $18, $2, $1, $19::text, $20, $21, $22, $6, $23 WHERE $19::text IS NOT NULL
    ON CONFLICT (consultation_id, to_office) DO NOTHING)
"""
_RESULT = "SELECT * FROM c"
_INSERT = f"WITH {_CTES} {_RESULT}"
_GET = """
SELECT c.*, coalesce(array_agg(cp.person_id) FILTER (WHERE cp.person_id IS NOT NULL), '{}')
       AS person_ids,
       coalesce(array_agg(cp.person_id) FILTER (WHERE cp.present), '{}') AS present_ids
FROM consultations c LEFT JOIN consultation_persons cp ON cp.consultation_id = c.id
WHERE c.id = $1 AND c.municipality = $2 GROUP BY c.id
"""
_OF_PERSONS = """
SELECT c.*, coalesce(array_agg(cp2.person_id) FILTER (WHERE cp2.person_id IS NOT NULL), '{}')
       AS person_ids,
       coalesce(array_agg(cp2.person_id) FILTER (WHERE cp2.present), '{}') AS present_ids
FROM consultations c
LEFT JOIN consultation_persons cp2 ON cp2.consultation_id = c.id
WHERE c.municipality = $2 AND (c.household_id = $3 OR c.id IN (
    SELECT consultation_id FROM consultation_persons WHERE person_id = ANY($1::uuid[])))
GROUP BY c.id ORDER BY c.received_at DESC LIMIT 200
"""


@dataclass(frozen=True)
class Copy:
    """What an agency was handed: its own copy, kept as it was then."""

    to_office: str
    to_legal_body: str
    consent_ids: list[uuid.UUID]
    at: Any
    disclosed: dict[str, Any]


def write(c: Consultation, municipality: str, copy: Copy | None = None) -> Write:
    """Storing it (and the receiver's copy), to fold into a unit of work's commit; `added` makes
    its result what `get` would read back (without a round trip to do so)."""
    handover = json.loads(json.dumps(asdict(c.handover), default=str)) if c.handover else None
    return Write(_CTES, _RESULT, (
        c.id, municipality, c.received_at, c.channel, c.receiving_division, c.received_by,
        c.main_complaint, list(c.categories), c.urgency, c.destination.kind, c.destination.agency,
        c.household_id, handover, c.intake_sheet or None, c.health_notes, list(c.person_ids),
        list(c.present_ids), uuid.uuid4(),
        *((copy.to_office, copy.to_legal_body, copy.consent_ids, copy.at, copy.disclosed)
          if copy else (None,) * 5)))


def added(row: Mapping[str, Any], c: Consultation) -> dict[str, Any]:
    present = set(c.present_ids)
    return {**row, "person_ids": list(c.person_ids),
            "present_ids": [p for p in c.person_ids if p in present]}


async def add(conn: asyncpg.Connection, c: Consultation, municipality: str,
              copy: Copy | None = None) -> dict[str, Any]:
    """Store it in the connection's transaction; return it as `added` does."""
    w = write(c, municipality, copy)
    row = await conn.fetchrow(_INSERT, *w.args)
    return added(dict(row), c)


async def get(conn: asyncpg.Connection, consultation_id: uuid.UUID,
              municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(_GET, consultation_id, municipality)
    return dict(row) if row else None


async def of_household(conn: asyncpg.Connection, person_ids: list[uuid.UUID],
                       household_id: uuid.UUID | None, municipality: str) -> list[dict[str, Any]]:
    """Every consultation touching these people or this household, across divisions."""
    return [dict(r) for r in await conn.fetch(_OF_PERSONS, person_ids, municipality, household_id)]


async def copies_of(conn: asyncpg.Connection, consultation_id: uuid.UUID,
                    municipality: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT * FROM handover_copies WHERE consultation_id = $1 AND "
                            "municipality = $2 ORDER BY handed_over_at", consultation_id, municipality)
    return [dict(r) for r in rows]
