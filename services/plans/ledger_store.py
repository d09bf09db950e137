"""plans' SQL for the responsibility ledger and the timers (services/plans/ledger.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from .ledger import Entry


async def add_entry(conn: asyncpg.Connection, municipality: str, person_id: uuid.UUID, e: Entry,
                    at: datetime) -> bool:
    """False when the decision's entry is here already (a redelivered event)."""
    return await conn.fetchval(
        "INSERT INTO lead_ledger VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8) "
        "ON CONFLICT DO NOTHING RETURNING 1", person_id, e.decision_id, municipality,
        e.lead_agency, e.lead_worker, e.effective_at, e.plan_id, at) is not None


async def entries(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[Entry]:
    rows = await conn.fetch("SELECT * FROM lead_ledger WHERE person_id = $1", person_id)
    return [Entry(r["lead_agency"], r["lead_worker"], r["effective_at"], r["decision_id"],
                  r["plan_id"], r["in_force"]) for r in rows]


async def withdraw(conn: asyncpg.Connection, decision_id: uuid.UUID) -> list[dict[str, Any]]:
    """The entries a superseded decision made stop counting; returns them."""
    rows = await conn.fetch("UPDATE lead_ledger SET in_force = false WHERE decision_id = $1 "
                            "AND in_force RETURNING *", decision_id)
    return [dict(r) for r in rows]


# -- timers -----------------------------------------------------------------------------------


async def add_timers(conn: asyncpg.Connection, municipality: str, plan_id: uuid.UUID, kind: str,
                     version: int, due: list[datetime]) -> None:
    """Replace the plan's pending timers of this kind with these (raised ones stay on record)."""
    await conn.execute("DELETE FROM plan_timers WHERE plan_id = $1 AND kind = $2 AND raised_at IS NULL",
                       plan_id, kind)
    await conn.executemany("INSERT INTO plan_timers VALUES ($1, $2, $3, $4, $5, $6, NULL) "
                           "ON CONFLICT DO NOTHING",
                           [(plan_id, kind, n, version, municipality, at) for n, at in enumerate(due, 1)])


async def drop_timers(conn: asyncpg.Connection, plan_id: uuid.UUID, kind: str) -> None:
    await conn.execute("DELETE FROM plan_timers WHERE plan_id = $1 AND kind = $2 AND raised_at IS NULL",
                       plan_id, kind)


_DUE = """
UPDATE plan_timers t SET raised_at = $2 FROM plans p
WHERE p.id = t.plan_id AND (t.plan_id, t.kind, t.version, t.seq) IN (
    SELECT plan_id, kind, version, seq FROM plan_timers WHERE municipality = $1 AND raised_at IS NULL
    AND due_at <= $2 ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING t.plan_id, t.kind, t.seq, t.version, t.due_at, p.person_ids, p.lead_agency, p.lead_worker
"""


async def raise_timers(conn: asyncpg.Connection, municipality: str, at: datetime,
                       limit: int = 500) -> list[dict[str, Any]]:
    """Mark the timers due by `at` as raised (their events are recorded in the same transaction)."""
    return [dict(r) for r in await conn.fetch(_DUE, municipality, at, limit)]


async def timers(conn: asyncpg.Connection, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT kind, seq, version, due_at, raised_at FROM plan_timers "
                            "WHERE plan_id = $1 ORDER BY kind, due_at", plan_id)
    return [dict(r) for r in rows]


async def watch(conn: asyncpg.Connection, municipality: str, person_id: uuid.UUID,
                decision_id: uuid.UUID, meeting_id: uuid.UUID, due_at: datetime) -> None:
    await conn.execute("INSERT INTO lead_watch VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT DO NOTHING",
                       person_id, decision_id, meeting_id, municipality, due_at)


_WATCHED = """
SELECT * FROM lead_watch WHERE municipality = $1 AND settled_at IS NULL AND due_at <= $2
ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED
"""


async def watched_due(conn: asyncpg.Connection, municipality: str, at: datetime,
                      limit: int = 500) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_WATCHED, municipality, at, limit)]


async def settle(conn: asyncpg.Connection, person_id: uuid.UUID, decision_id: uuid.UUID,
                 at: datetime) -> None:
    await conn.execute("UPDATE lead_watch SET settled_at = $3 WHERE person_id = $1 AND decision_id = $2",
                       person_id, decision_id, at)
