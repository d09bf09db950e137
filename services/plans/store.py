"""plans' SQL: the decisions view, assessments, plans and their versions, notes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from contracts.events.meetings import MeetingDecided

from .domain import Decision, Plan

# -- views ------------------------------------------------------------------------------------


_DECISION = """
INSERT INTO decisions_view VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13)
ON CONFLICT (decision_id) DO NOTHING RETURNING 1
"""


async def add_decision(conn: asyncpg.Connection, municipality: str, e: MeetingDecided) -> bool:
    """False when redelivered (the decision is here already)."""
    return await conn.fetchval(_DECISION, e.decision_id, municipality, e.meeting_id, e.kind,
                               list(e.person_ids), e.plan_id, e.plan_version, e.assessment_id,
                               e.lead_agency, e.lead_worker, e.evaluation, e.supersedes,
                               e.decided_at) is not None


async def supersede(conn: asyncpg.Connection, old: uuid.UUID, new: uuid.UUID) -> None:
    await conn.execute("UPDATE decisions_view SET superseded_by = $2 WHERE decision_id = $1", old, new)


def decision_of(r: Any) -> Decision:
    return Decision(r["decision_id"], r["meeting_id"], r["kind"], frozenset(r["person_ids"]),
                    r["decided_at"], r["plan_id"], r["plan_version"], r["assessment_id"],
                    r["lead_agency"], r["lead_worker"], r["evaluation"], r["superseded_by"])


async def decisions_about(conn: asyncpg.Connection, person_ids: Iterable[uuid.UUID]) -> list[Decision]:
    rows = await conn.fetch("SELECT * FROM decisions_view WHERE person_ids && $1::uuid[]",
                            list(person_ids))
    return [decision_of(r) for r in rows]


async def decision(conn: asyncpg.Connection, decision_id: uuid.UUID) -> Decision | None:
    r = await conn.fetchrow("SELECT * FROM decisions_view WHERE decision_id = $1", decision_id)
    return decision_of(r) if r else None


# -- assessments ------------------------------------------------------------------------------


async def add_assessment(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await conn.execute("INSERT INTO assessments VALUES ($1, $2, $3, $4, $5, $6, 'draft', NULL, $7, $7)",
                       row["id"], row["municipality"], row["person_ids"], row["office"],
                       row["written_by"], json.dumps(row["sheet"]), row["created_at"])


async def assessment(conn: asyncpg.Connection, assessment_id: uuid.UUID, municipality: str,
                     for_update: bool = False) -> dict[str, Any] | None:
    r = await conn.fetchrow("SELECT * FROM assessments WHERE id = $1 AND municipality = $2"
                            + (" FOR UPDATE" if for_update else ""), assessment_id, municipality)
    return {**dict(r), "sheet": json.loads(r["sheet"])} if r else None


async def set_assessment(conn: asyncpg.Connection, assessment_id: uuid.UUID, status: str,
                         decision_id: uuid.UUID | None, at: datetime,
                         sheet: dict[str, Any] | None = None) -> None:
    await conn.execute("UPDATE assessments SET status = $2, decision_id = $3, changed_at = $4, "
                       "sheet = coalesce($5::jsonb, sheet) WHERE id = $1", assessment_id, status,
                       decision_id, at, json.dumps(sheet) if sheet is not None else None)


async def assessments_resting_on(conn: asyncpg.Connection, decision_id: uuid.UUID) -> list[uuid.UUID]:
    return [r[0] for r in await conn.fetch("SELECT id FROM assessments WHERE decision_id = $1",
                                           decision_id)]


# -- plans ------------------------------------------------------------------------------------


async def add_plan(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO plans (id, municipality, person_ids, office, latest, lead_agency, lead_worker, "
        "team, created_at, changed_at) VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $8)",
        row["id"], row["municipality"], row["person_ids"], row["office"], row["lead_agency"],
        row["lead_worker"], row["team"], row["created_at"])


async def add_version(conn: asyncpg.Connection, plan_id: uuid.UUID, version: int,
                      content: dict[str, Any], written_by: str, at: datetime) -> None:
    await conn.execute("INSERT INTO plan_versions (plan_id, version, content, written_by, written_at) "
                       "VALUES ($1, $2, $3, $4, $5)", plan_id, version, json.dumps(content),
                       written_by, at)


async def plan_row(conn: asyncpg.Connection, plan_id: uuid.UUID, municipality: str,
                   for_update: bool = False) -> dict[str, Any] | None:
    r = await conn.fetchrow("SELECT * FROM plans WHERE id = $1 AND municipality = $2"
                            + (" FOR UPDATE" if for_update else ""), plan_id, municipality)
    return dict(r) if r else None


async def versions(conn: asyncpg.Connection, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT * FROM plan_versions WHERE plan_id = $1 ORDER BY version", plan_id)
    return [{**dict(r), "content": json.loads(r["content"])} for r in rows]


def plan_of(row: dict[str, Any], vs: list[dict[str, Any]]) -> Plan:
    return Plan(row["id"], frozenset(row["person_ids"]), row["latest"],
                {v["version"]: v["decision_id"] for v in vs if v["decision_id"] is not None},
                row["started"], row["closed_by"], row["evaluation"])


async def save(conn: asyncpg.Connection, plan: Plan, vs: list[dict[str, Any]], at: datetime,
               evaluation_why: str | None = None) -> tuple[str, str]:
    """Write the plan's state back: approvals on its versions, its lead and team from the
    version in force (the latest before any). Returns the lead (agency, worker)."""
    for v in vs:
        decided = plan.approved.get(v["version"])
        if decided != v["decision_id"]:
            await conn.execute("UPDATE plan_versions SET decision_id = $3, approved_at = $4 "
                               "WHERE plan_id = $1 AND version = $2", plan.id, v["version"],
                               decided, at if decided else None)
    by_version = {v["version"]: v["content"] for v in vs}
    current = by_version[plan.in_force or plan.latest]
    team = sorted({r["agency"] for c in (current, by_version[plan.latest]) for r in c["roles"]}
                  | {current["lead_agency"], by_version[plan.latest]["lead_agency"]})
    await conn.execute(
        "UPDATE plans SET latest = $2, started = $3, lead_agency = $4, lead_worker = $5, team = $6, "
        "closed_by = $7, evaluation = $8, evaluation_why = CASE WHEN $7::uuid IS NULL THEN NULL "
        "ELSE coalesce($9, evaluation_why) END, closed_at = CASE WHEN $7::uuid IS NULL THEN NULL "
        "ELSE coalesce(closed_at, $10) END, changed_at = $10 WHERE id = $1",
        plan.id, plan.latest, plan.started, current["lead_agency"], current["lead_worker"], team,
        plan.closed_by, plan.evaluation, evaluation_why, at)
    return current["lead_agency"], current["lead_worker"]


async def plans_resting_on(conn: asyncpg.Connection, decision_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await conn.fetch("SELECT plan_id FROM plan_versions WHERE decision_id = $1 UNION "
                            "SELECT id FROM plans WHERE closed_by = $1", decision_id)
    return [r[0] for r in rows]


async def open_plans_with_team(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT * FROM plans WHERE $1 = ANY(person_ids) AND closed_by IS NULL",
                            person_id)
    return [dict(r) for r in rows]


async def add_entry(conn: asyncpg.Connection, entry_id: uuid.UUID, plan_id: uuid.UUID, version: int,
                    office: str, written_by: str, body: str, at: datetime) -> None:
    await conn.execute("INSERT INTO progress_entries VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       entry_id, plan_id, version, office, written_by, body, at)


async def entries(conn: asyncpg.Connection, plan_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT id, version, office, written_by, body, recorded_at FROM "
                            "progress_entries WHERE plan_id = $1 ORDER BY recorded_at LIMIT $2",
                            plan_id, limit)
    return [dict(r) for r in rows]
