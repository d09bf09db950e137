"""SQL of community resources' capacity and of participation support."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from ..domain.participation import Placement
from ..domain.resources import Capacity

_CAPACITY = """
INSERT INTO resource_capacity VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (municipality, resource_id) DO UPDATE SET available = $3, maximum = $4,
    updated_at = $5, updated_by = $6
"""


async def capacities(conn: asyncpg.Connection, municipality: str) -> dict[str, Capacity]:
    rows = await conn.fetch("SELECT resource_id, available, maximum, updated_at FROM "
                            "resource_capacity WHERE municipality = $1", municipality)
    return {r["resource_id"]: Capacity(r["available"], r["maximum"], r["updated_at"]) for r in rows}


async def set_capacity(conn: asyncpg.Connection, municipality: str, resource_id: str,
                       capacity: Capacity, by: str) -> None:
    await conn.execute(_CAPACITY, municipality, resource_id, capacity.available, capacity.maximum,
                       capacity.updated_at, by)


# -- participations ------------------------------------------------------------------------
_START = """
INSERT INTO participations (id, municipality, person_id, office, started_by, decision_id,
    need_codes, status, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
ON CONFLICT (decision_id, person_id) DO NOTHING
"""
# A correcting decision takes its predecessor's participations over for the persons it names
# (they go on as they were); DecisionCorrected ends the rest.
_REPOINT = """
UPDATE participations SET decision_id = $2, need_codes = $3, superseded_at = NULL
WHERE decision_id = $1 AND person_id = ANY($4::uuid[])
"""
_SUPERSEDE = "UPDATE participations SET superseded_at = $2 WHERE decision_id = $1 AND superseded_at IS NULL"


async def start(conn: asyncpg.Connection, municipality: str, participation_id: uuid.UUID,
                person_id: uuid.UUID, office: str, started_by: str, decision_id: uuid.UUID | None,
                need_codes: tuple[str, ...], at: datetime) -> None:
    await conn.execute(_START, participation_id, municipality, person_id, office, started_by,
                       decision_id, list(need_codes), at)


async def repoint(conn: asyncpg.Connection, old: uuid.UUID, new: uuid.UUID,
                  need_codes: tuple[str, ...], person_ids: tuple[uuid.UUID, ...]) -> None:
    await conn.execute(_REPOINT, old, new, list(need_codes), list(person_ids))


async def supersede(conn: asyncpg.Connection, decision_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(_SUPERSEDE, decision_id, at)


async def get(conn: asyncpg.Connection, participation_id: uuid.UUID, municipality: str,
              for_update: bool = False) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM participations WHERE id = $1 AND municipality = $2"
                              + (" FOR UPDATE" if for_update else ""), participation_id, municipality)
    if row is None:
        return None
    found = dict(row)
    found["placements"] = [{**dict(p), "follow_ups": await _follow_ups(conn, p["id"]),
                            "visits": await _visits(conn, p["id"])}
                           for p in await conn.fetch("SELECT * FROM placements WHERE participation_id"
                                                     " = $1 ORDER BY started_at", participation_id)]
    return found


async def for_office(conn: asyncpg.Connection, office: str, municipality: str,
                     limit: int) -> list[dict[str, Any]]:
    """The office's participation support, newest first (no profile: that is read one by one)."""
    return [dict(r) for r in await conn.fetch(
        "SELECT id, person_id, office, started_by, decision_id, need_codes, status, started_at, "
        "superseded_at FROM participations WHERE municipality = $1 AND office = $2 "
        "ORDER BY started_at DESC LIMIT $3", municipality, office, limit)]


async def _follow_ups(conn: asyncpg.Connection, placement_id: uuid.UUID) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch("SELECT step, due_at, raised_at FROM follow_ups WHERE "
                                              "placement_id = $1 ORDER BY due_at", placement_id)]


async def _visits(conn: asyncpg.Connection, placement_id: uuid.UUID) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch("SELECT id, visited_on, by_user, note FROM host_visits "
                                              "WHERE placement_id = $1 ORDER BY visited_on", placement_id)]


async def set_profile(conn: asyncpg.Connection, participation_id: uuid.UUID,
                      profile: dict[str, Any], need_codes: list[str]) -> None:
    await conn.execute("UPDATE participations SET profile = $2, need_codes = $3 WHERE id = $1",
                       participation_id, profile, need_codes)


async def add_gaps(conn: asyncpg.Connection, participation_id: uuid.UUID, gap_id: uuid.UUID,
                   need_codes: tuple[str, ...]) -> tuple[str, ...]:
    """The needs not recorded as a gap of this participation before (each is recorded once)."""
    rows = await conn.fetch("INSERT INTO resource_gaps SELECT $1, n, $2 FROM unnest($3::text[]) n "
                            "ON CONFLICT DO NOTHING RETURNING need_code", participation_id, gap_id,
                            list(need_codes))
    return tuple(sorted(r[0] for r in rows))


# -- placements ----------------------------------------------------------------------------
# A place taken: the host's count less one, never below none (then the placement takes none).
_TAKE_PLACE = """
INSERT INTO resource_capacity VALUES ($1, $2, $3 - 1, $4, $5, $6)
ON CONFLICT (municipality, resource_id) DO UPDATE SET available = resource_capacity.available - 1,
    updated_at = $5, updated_by = $6
    WHERE resource_capacity.available > 0
RETURNING 1
"""
# A place given back: never more free than the host's maximum.
_GIVE_BACK = """
UPDATE resource_capacity SET available = least(available + 1, maximum), updated_at = $3,
    updated_by = $4
WHERE municipality = $1 AND resource_id = $2
"""


async def add_placement(conn: asyncpg.Connection, p: Placement, municipality: str,
                        capacity: Capacity) -> bool:
    """Record the placement, taking one of the resource's free places if one is; True if so."""
    took = capacity.available > 0 and await conn.fetchval(
        _TAKE_PLACE, municipality, p.resource_id, capacity.available, capacity.maximum,
        p.started_at, p.worker) is not None
    await conn.execute("INSERT INTO placements (id, participation_id, resource_id, host_office, "
                       "office, worker, started_at, took_place) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                       p.id, p.participation_id, p.resource_id, p.host_office, p.office, p.worker,
                       p.started_at, took)
    await conn.executemany("INSERT INTO follow_ups (placement_id, step, due_at) VALUES ($1, $2, $3)",
                           [(p.id, step, due) for step, due in p.follow_ups])
    await conn.execute("UPDATE participations SET status = 'placed' WHERE id = $1", p.participation_id)
    return took


async def end_placement(conn: asyncpg.Connection, p: dict[str, Any], reason: str, at: datetime,
                        by: str) -> None:
    """End it, give its place back, and reopen the participation if nothing else holds it."""
    await conn.execute("UPDATE placements SET ended_at = $2, end_reason = $3 WHERE id = $1",
                       p["id"], at, reason)
    if p["took_place"]:
        await conn.execute(_GIVE_BACK, p["municipality"], p["resource_id"], at, by)
    await conn.execute("UPDATE participations SET status = 'open' WHERE id = $1 AND NOT EXISTS ("
                       "SELECT 1 FROM placements WHERE participation_id = $1 AND ended_at IS NULL)",
                       p["participation_id"])


async def placement(conn: asyncpg.Connection, placement_id: uuid.UUID,
                    municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT p.*, x.person_id, x.municipality, x.superseded_at FROM placements p "
                              "JOIN participations x ON x.id = p.participation_id "
                              "WHERE p.id = $1 AND x.municipality = $2 FOR UPDATE OF p", placement_id,
                              municipality)
    return dict(row) if row else None


async def mark_stable(conn: asyncpg.Connection, placement_id: uuid.UUID, participation_id: uuid.UUID,
                      at: datetime) -> None:
    await conn.execute("UPDATE placements SET stable_at = $2 WHERE id = $1", placement_id, at)
    await conn.execute("UPDATE participations SET status = 'stable' WHERE id = $1", participation_id)


async def add_visit(conn: asyncpg.Connection, placement_id: uuid.UUID, visited_on: date, by: str,
                    note: str, at: datetime) -> uuid.UUID:
    visit_id = uuid.uuid4()
    await conn.execute("INSERT INTO host_visits VALUES ($1, $2, $3, $4, $5, $6)", visit_id,
                       placement_id, visited_on, by, note, at)
    return visit_id


# Each check-in raised once, and none for a stable or ended placement or a superseded participation.
FOLLOW_UPS_DUE = """
UPDATE follow_ups f SET raised_at = $2 FROM placements p, participations x
WHERE f.placement_id = p.id AND x.id = p.participation_id AND (f.placement_id, f.step) IN (
    SELECT f2.placement_id, f2.step FROM follow_ups f2 JOIN placements p2 ON p2.id = f2.placement_id
    JOIN participations x2 ON x2.id = p2.participation_id
    WHERE x2.municipality = $1 AND f2.due_at <= $2 AND f2.raised_at IS NULL AND p2.stable_at IS NULL
      AND p2.ended_at IS NULL
      AND x2.superseded_at IS NULL
    ORDER BY f2.due_at LIMIT $3 FOR UPDATE OF f2 SKIP LOCKED)
RETURNING f.placement_id, f.step, f.due_at, p.participation_id, p.office, p.worker
"""


async def follow_ups_due(conn: asyncpg.Connection, municipality: str, at: datetime,
                         limit: int = 500) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(FOLLOW_UPS_DUE, municipality, at, limit)]
