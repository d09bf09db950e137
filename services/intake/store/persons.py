"""Persons' SQL: registration, look-up, candidate blocking, merges."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from ..domain.matching import Known, Probe
from ..domain.persons import Person, PersonState

_INSERT = """
INSERT INTO persons (id, municipality, family_name, given_name, family_kana, given_kana, kana_key,
    kanji_key, kana_deletions, birth_date, sex, address, address_key, phone, phone_key,
    atena_number, registered_agency, registered_by, registered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
"""
_BY_ATENA = """
SELECT id FROM persons WHERE municipality = $1 AND atena_number = $2 AND merged_into IS NULL
"""
_GET = "SELECT * FROM persons WHERE id = $1 AND municipality = $2"
# The consultations about a person, with whether they came themselves (kit/holders.py).
_HOLDERS = """
SELECT c.receiving_division, c.destination_kind, c.destination_agency, cp.present
FROM consultation_persons cp JOIN consultations c ON c.id = cp.consultation_id
WHERE cp.person_id = ANY($1::uuid[])
"""
# Blocking: small index lookups, each bounded, united: the person number; everyone born that
# day; the reading's namesakes at that address; the exact reading (and one letter more); its
# one-typo neighbourhood (deletion keys); the written name. One OR over all of them made
# PostgreSQL fetch and sort every namesake of a common name (thousands in a city-sized register).
# The deletion-key branch is fenced (OFFSET 0): with its LIMIT in view the planner expected a
# table scan to find 40 matches early and read all 1M rows instead of using the GIN index.
# Ranking happens in Python.
_COLUMNS = "id, kana_key, kanji_key, birth_date, address_key, phone_key, atena_number"
_LIVE = "municipality = $1 AND merged_into IS NULL"
_BLOCK = "(kana_key = ANY($2::text[]) OR kana_deletions && $2::text[] OR kanji_key = $3)"
_CANDIDATES = f"""
(SELECT {_COLUMNS} FROM persons WHERE {_LIVE} AND atena_number = $5 LIMIT 5)
UNION (SELECT {_COLUMNS} FROM persons WHERE {_LIVE} AND birth_date = $4 LIMIT 100)
UNION (SELECT {_COLUMNS} FROM persons WHERE {_LIVE} AND address_key = $6 AND {_BLOCK} LIMIT 30)
UNION (SELECT {_COLUMNS} FROM persons WHERE {_LIVE} AND kana_key = ANY($2::text[]) LIMIT 40)
UNION (SELECT * FROM (SELECT {_COLUMNS} FROM persons WHERE {_LIVE} AND kana_deletions && $2::text[]
               OFFSET 0) neighbourhood LIMIT 40)
UNION (SELECT {_COLUMNS} FROM persons WHERE {_LIVE} AND kanji_key = $3 LIMIT 20)
"""


async def add(conn: asyncpg.Connection, p: Person, municipality: str) -> None:
    i, k = p.identity, p.keys
    await conn.execute(_INSERT, p.id, municipality, i.family_name, i.given_name, i.family_kana,
                       i.given_kana, k.kana_key, k.kanji_key, list(k.kana_deletions), i.birth_date,
                       i.sex, i.address, k.address_key, i.phone, k.phone_key, i.atena_number,
                       p.registered_agency, p.registered_by, p.registered_at)


async def by_atena(conn: asyncpg.Connection, municipality: str, atena: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(_BY_ATENA, municipality, atena)
    return found


async def all_exist(conn: asyncpg.Connection, ids: list[uuid.UUID], municipality: str) -> bool:
    found = await conn.fetchval("SELECT count(*) FROM persons WHERE id = ANY($1::uuid[]) AND "
                                "municipality = $2", ids, municipality)
    return bool(found == len(set(ids)))


async def get(conn: asyncpg.Connection, person_id: uuid.UUID, municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(_GET, person_id, municipality)
    return dict(row) if row else None


async def state(conn: asyncpg.Connection, person_id: uuid.UUID, municipality: str) -> PersonState | None:
    row = await conn.fetchrow("SELECT id, merged_into, atena_number FROM persons "
                              "WHERE id = $1 AND municipality = $2 FOR UPDATE", person_id, municipality)
    return PersonState(row["id"], row["merged_into"], row["atena_number"]) if row else None


async def consultation_holders(conn: asyncpg.Connection, person_ids: list[uuid.UUID]
                               ) -> list[tuple[str, str, str | None, bool]]:
    return [(r[0], r[1], r[2], r[3]) for r in await conn.fetch(_HOLDERS, person_ids)]


async def candidates(conn: asyncpg.Connection, municipality: str, probe: Probe,
                     kana_keys: list[str]) -> list[Known]:
    async with conn.transaction():
        # Plan for these values: a generic plan (used after a prepared statement's fifth run)
        # cannot know that a missing birth date or address makes its branch empty, nor how common
        # a reading is, and picked table scans for some branches (p99 of 477 ms at 1M people).
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(_CANDIDATES, municipality, kana_keys, probe.kanji_key or None,
                                probe.birth_date, probe.atena_number, probe.address_key)
    return [Known(r["id"], r["kana_key"], r["kanji_key"], r["birth_date"], r["address_key"],
                  r["phone_key"], r["atena_number"]) for r in rows]


async def summaries(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    if not ids:
        return {}
    rows = await conn.fetch("SELECT id, family_name, given_name, family_kana, given_kana, birth_date, "
                            "address FROM persons WHERE id = ANY($1::uuid[])", ids)
    return {r["id"]: dict(r) for r in rows}


async def record_merge(conn: asyncpg.Connection, municipality: str, surviving: uuid.UUID,
                       merged: uuid.UUID, reason: str, user: str, at: Any) -> None:
    await conn.execute("UPDATE persons SET merged_into = $1 WHERE id = $2", surviving, merged)
    await conn.execute("INSERT INTO person_merges (id, municipality, surviving_person_id, "
                       "merged_person_id, reason, merged_by, merged_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       uuid.uuid4(), municipality, surviving, merged, reason, user, at)


async def record_unmerge(conn: asyncpg.Connection, restored: uuid.UUID, reason: str, user: str,
                         at: Any) -> None:
    await conn.execute("UPDATE persons SET merged_into = NULL WHERE id = $1", restored)
    await conn.execute("UPDATE person_merges SET unmerged_at = $2, unmerged_by = $3, "
                       "unmerge_reason = $4 WHERE merged_person_id = $1 AND unmerged_at IS NULL",
                       restored, at, user, reason)


async def merge_history(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT surviving_person_id, merged_person_id, reason, merged_by, merged_at, "
                            "unmerged_by, unmerge_reason, unmerged_at FROM person_merges "
                            "WHERE surviving_person_id = $1 OR merged_person_id = $1 ORDER BY merged_at",
                            person_id)
    return [dict(r) for r in rows]


async def merged_into_it(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[uuid.UUID]:
    """Records merged into this person: their consultations are this person's too."""
    return [r[0] for r in await conn.fetch("SELECT id FROM persons WHERE merged_into = $1", person_id)]
