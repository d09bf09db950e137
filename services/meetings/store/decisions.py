"""meetings' SQL: decisions, final once recorded, superseded by corrections."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from contracts.events.meetings import MeetingDecided


async def add_decision(conn: asyncpg.Connection, decided: MeetingDecided, persons: list[uuid.UUID],
                       reason: str | None, user: str) -> None:
    await conn.execute("INSERT INTO meeting_decisions (id, meeting_id, kind, person_ids, facts, supersedes, "
                       "reason, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       decided.decision_id, decided.meeting_id, decided.kind, persons,
                       decided.model_dump(mode="json"), decided.supersedes, reason, user,
                       decided.decided_at)


async def supersede(conn: asyncpg.Connection, decision_id: uuid.UUID, by: uuid.UUID) -> bool:
    """Mark a decision superseded, once (a second correction of it loses the race)."""
    return await conn.fetchval("UPDATE meeting_decisions SET superseded_by = $2 WHERE id = $1 "
                               "AND superseded_by IS NULL RETURNING 1", decision_id, by) is not None


async def decision(conn: asyncpg.Connection, decision_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT id, meeting_id, kind, superseded_by FROM meeting_decisions "
                              "WHERE id = $1 FOR UPDATE", decision_id)
    return dict(row) if row else None


async def decisions(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT facts, person_ids, superseded_by, reason FROM meeting_decisions "
                            "WHERE meeting_id = $1 ORDER BY decided_at, id", meeting_id)
    return [{**r["facts"], "superseded_by": r["superseded_by"], "reason": r["reason"],
             "concerns": frozenset(r["person_ids"])} for r in rows]
