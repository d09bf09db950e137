"""referral's SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

import asyncpg

from contracts.events.intake import ConsultationReceived
from kit import outbox

from ..domain import Referral

_INSERT = """
INSERT INTO referrals (id, municipality, consultation_id, destination_kind, to_agency, categories,
    urgency, status, requested_at, from_division, person_ids, reason, referred_by, escalated_from,
    changed_at, answer_due_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $9, $15)
ON CONFLICT (municipality, consultation_id, to_agency)
    WHERE status IN ('requested', 'accepted', 'in_progress') DO NOTHING
RETURNING id
"""
_GET = "SELECT * FROM referrals WHERE id = $1 AND municipality = $2"
_MOVE = """
UPDATE referrals SET status = $3, decline_reason = coalesce($4, decline_reason),
    outcome = coalesce($5, outcome), changed_at = $6, follow_up_due_at = $7
WHERE id = $1 AND municipality = $2
"""
# Each timer is raised once: the rows it marks are the ones whose event is recorded with it.
_DUE = """
UPDATE referrals SET {mark} = $2 WHERE id IN (
    SELECT id FROM referrals WHERE municipality = $1 AND {due} <= $2 AND {mark} IS NULL AND {state}
    ORDER BY {due} LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id, consultation_id, from_division, to_agency, {due} AS due_at
"""
OVERDUE = _DUE.format(mark="overdue_at", due="answer_due_at", state="status = 'requested'")
NO_OUTCOME = _DUE.format(mark="follow_up_at", due="follow_up_due_at",
                         state="status = 'completed' AND outcome IS NULL")
_CONSULTATION = """
INSERT INTO consultations_view VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (consultation_id) DO NOTHING
"""
# The facts, the task and the task's events in one statement, one round trip per consultation
# received (the tables are apart: no key or trigger links them, so neither insert can see or miss
# the other's row). The events are written only with the task (none when it was opened before:
# an event redelivered), and the relay is woken as their transaction commits.
_CONSULTATION_AND_TASK = f"""
WITH kept AS (INSERT INTO consultations_view VALUES ($16, $2, $17, $18, $19, $20, $21, $22, $23)
              ON CONFLICT (consultation_id) DO NOTHING),
task AS ({_INSERT}),
announced AS ({outbox.insert(24, only_if="EXISTS (SELECT FROM task)")})
{outbox.NOTIFY.format(channel="$31", inserted="announced")}
"""
# Offices a live referral of this consultation went to: made with consent covering them, they
# hold it while they work on it (and may refer it onward or escalate it).
_LIVE_OFFICES = """
SELECT DISTINCT to_agency FROM referrals WHERE consultation_id = $1 AND municipality = $2
AND status IN ('requested', 'accepted', 'in_progress')
"""
_FOR_AGENCY = """
SELECT * FROM referrals WHERE municipality = $1 AND (CASE WHEN $4 THEN from_division ELSE to_agency END) = $2
ORDER BY requested_at DESC LIMIT $3
"""


async def add(conn: asyncpg.Connection, r: Referral, municipality: str) -> bool:
    """False when this consultation already has a task for this office."""
    return await conn.fetchval(_INSERT, *_referral(r, municipality)) is not None


def _referral(r: Referral, municipality: str) -> tuple[Any, ...]:
    return (r.id, municipality, r.consultation_id, r.destination_kind, r.to_agency,
            list(r.categories), r.urgency, r.status, r.requested_at, r.from_division,
            list(r.person_ids), r.reason, r.referred_by, r.escalated_from, r.answer_due_at)


async def get(conn: asyncpg.Connection, referral_id: uuid.UUID, municipality: str,
              for_update: bool = False) -> dict[str, Any] | None:
    row = await conn.fetchrow(_GET + (" FOR UPDATE" if for_update else ""), referral_id, municipality)
    return dict(row) if row else None


async def move(conn: asyncpg.Connection, referral_id: uuid.UUID, municipality: str, status: str,
               at: datetime, decline_reason: str | None = None, outcome: str | None = None,
               follow_up_due_at: datetime | None = None) -> None:
    await conn.execute(_MOVE, referral_id, municipality, status, decline_reason, outcome, at,
                       follow_up_due_at)


async def mark_due(conn: asyncpg.Connection, sql: str, municipality: str, at: datetime,
                   limit: int = 500) -> list[dict[str, Any]]:
    """Mark the referrals whose timer (OVERDUE or NO_OUTCOME) ran out by `at`, a batch at a time."""
    return [dict(r) for r in await conn.fetch(sql, municipality, at, limit)]


Kept = tuple[str, tuple[Any, ...]]  # one consultation's statement and its arguments (`kept`)


def kept(e: ConsultationReceived, municipality: str, task: Referral | None,
         events: list[outbox.Row]) -> Kept:
    """What `add_consultations` writes for one consultation received: its routing facts (once)
    and its routing `task`, if it has one, with the task's `events` (outbox rows), unless it
    already has a live one for that office (as `add`)."""
    facts = (e.receiving_division, e.destination_kind, e.destination_agency, list(e.categories),
             e.urgency, list(e.person_ids), list(e.present_ids))
    if task is None:
        return _CONSULTATION, (e.consultation_id, municipality, *facts)
    return _CONSULTATION_AND_TASK, (*_referral(task, municipality), e.consultation_id, *facts,
                                    *outbox.columns(events), outbox.NOTIFY_CHANNEL)


async def add_consultations(conn: asyncpg.Connection, consultations: list[Kept]) -> None:
    """Write each consultation `kept`, in order: a statement each, sent together (asyncpg's
    executemany: one round trip for a run of the same statement, not one per consultation)."""
    for sql, same in groupby(consultations, key=itemgetter(0)):
        await conn.executemany(sql, [args for _, args in same])


async def consultation(conn: asyncpg.Connection, consultation_id: uuid.UUID,
                       municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM consultations_view WHERE consultation_id = $1 AND "
                              "municipality = $2", consultation_id, municipality)
    return dict(row) if row else None


async def live_offices(conn: asyncpg.Connection, consultation_id: uuid.UUID,
                       municipality: str) -> frozenset[str]:
    return frozenset(r[0] for r in await conn.fetch(_LIVE_OFFICES, consultation_id, municipality))


async def for_agency(conn: asyncpg.Connection, agency: str, municipality: str,
                     limit: int, sent: bool = False) -> list[dict[str, Any]]:
    """The office's incoming referrals, or the ones it made (`sent`)."""
    return [dict(r) for r in await conn.fetch(_FOR_AGENCY, municipality, agency, limit, sent)]


_LATEST = """
SELECT revision, digest, {body}published_at FROM directory_revisions WHERE municipality = $1
ORDER BY revision DESC LIMIT 1
"""


async def directory_json(conn: asyncpg.Connection, municipality: str) -> str | None:
    """The latest revision's file with its revision number, as JSON text."""
    text: str | None = await conn.fetchval(
        "SELECT (body || jsonb_build_object('revision', revision))::text FROM directory_revisions "
        "WHERE municipality = $1 ORDER BY revision DESC LIMIT 1", municipality)
    return text


async def lock_directory(conn: asyncpg.Connection) -> None:
    """Two replicas reading the file together publish one revision, not two."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('tsunagu.referral.directory'))")


async def latest_directory(conn: asyncpg.Connection, municipality: str,
                           with_body: bool = True) -> dict[str, Any] | None:
    """The latest revision; without its body (the whole file as JSON: decoding it takes
    milliseconds at thousands of offices) where only its digest and date are compared."""
    row = await conn.fetchrow(_LATEST.format(body="body, " if with_body else ""), municipality)
    return dict(row) if row else None


async def add_directory(conn: asyncpg.Connection, revision: int, municipality: str, digest: str,
                        body: dict[str, Any], at: datetime) -> None:
    await conn.execute("INSERT INTO directory_revisions VALUES ($1, $2, $3, $4, $5)",
                       revision, municipality, digest, body, at)


async def touch_directory(conn: asyncpg.Connection, revision: int, municipality: str,
                          at: datetime) -> None:
    await conn.execute("UPDATE directory_revisions SET published_at = $3 WHERE revision = $1 AND "
                       "municipality = $2", revision, municipality, at)
