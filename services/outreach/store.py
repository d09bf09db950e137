"""outreach's SQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from kit import views
from kit.policy import Consent

from .domain.cases import LIVE, Case
from .domain.reports import Agreement

_AGREEMENT = """
INSERT INTO partner_agreements (municipality, user_id, office_id, since, until, may_report,
    registered_by, registered_at, id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (municipality, user_id) DO UPDATE SET office_id = excluded.office_id,
    since = excluded.since, until = excluded.until, may_report = excluded.may_report,
    registered_by = excluded.registered_by, registered_at = excluded.registered_at
RETURNING id
"""


async def put_agreement(conn: asyncpg.Connection, m: str, a: Agreement, by: str,
                        at: datetime) -> tuple[Agreement | None, uuid.UUID]:
    """The agreement as it stood (its row held until the transaction ends, so concurrent
    registrations of one partner follow each other), and the id it keeps across them."""
    before = await agreement(conn, m, a.user_id, lock=True)
    agreement_id: uuid.UUID = await conn.fetchval(_AGREEMENT, m, a.user_id, a.office_id, a.since,
                                                  a.until, sorted(a.may_report), by, at, uuid.uuid4())
    return before, agreement_id


async def agreement(conn: asyncpg.Connection, m: str, user_id: str,
                    lock: bool = False) -> Agreement | None:
    r = await conn.fetchrow("SELECT * FROM partner_agreements WHERE municipality = $1 AND "
                            "user_id = $2" + (" FOR UPDATE" if lock else ""), m, user_id)
    return Agreement(r["user_id"], r["office_id"], r["since"], frozenset(r["may_report"]),
                     r["until"]) if r else None


_REPORT = """
INSERT INTO concern_reports (id, municipality, reported_by, partner_office, person_name, address,
    subject_kind, subject_key, seen, note, seen_at, urgency, reported_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""


async def add_report(conn: asyncpg.Connection, m: str, **r: Any) -> None:
    await conn.execute(_REPORT, r["id"], m, r["reported_by"], r["partner_office"],
                       r["person_name"], r["address"], r["subject_kind"], r["subject_key"],
                       list(r["seen"]), r["note"], r["seen_at"], r["urgency"], r["reported_at"])


async def report(conn: asyncpg.Connection, m: str, report_id: uuid.UUID) -> dict[str, Any] | None:
    r = await conn.fetchrow("SELECT * FROM concern_reports WHERE id = $1 AND municipality = $2",
                            report_id, m)
    return dict(r) if r else None


async def look_at(conn: asyncpg.Connection, m: str, report_ids: list[uuid.UUID], at: datetime) -> None:
    """The partner's acknowledgement moves on: someone at the city is looking at it."""
    await conn.execute("UPDATE concern_reports SET status = 'being_looked_at', looked_at = $3 "
                       "WHERE id = ANY($1::uuid[]) AND municipality = $2 AND looked_at IS NULL",
                       report_ids, m, at)


async def lock_subject(conn: asyncpg.Connection, m: str, key: str) -> datetime | None:
    """Hold the subject's row until the transaction ends; its last alert's time."""
    await conn.execute("INSERT INTO signal_subjects (municipality, subject_key) VALUES ($1, $2) "
                       "ON CONFLICT DO NOTHING", m, key)
    last: datetime | None = await conn.fetchval(
        "SELECT last_alert_at FROM signal_subjects WHERE municipality = $1 AND subject_key = $2 "
        "FOR UPDATE", m, key)
    return last


async def recent_reports(conn: asyncpg.Connection, m: str, key: str, since: datetime,
                         urgencies: list[str]) -> list[uuid.UUID]:
    rows = await conn.fetch("SELECT id FROM concern_reports WHERE municipality = $1 AND "
                            "subject_key = $2 AND reported_at > $3 AND urgency = ANY($4::text[]) "
                            "ORDER BY reported_at", m, key, since, urgencies)
    return [r["id"] for r in rows]


async def add_alert(conn: asyncpg.Connection, m: str, alert_id: uuid.UUID, key: str,
                    report_ids: list[uuid.UUID], at: datetime) -> None:
    await conn.execute("INSERT INTO weak_signal_alerts VALUES ($1, $2, $3, $4, $5)",
                       alert_id, m, key, report_ids, at)
    await conn.execute("UPDATE signal_subjects SET last_alert_at = $3 WHERE municipality = $1 AND "
                       "subject_key = $2", m, key, at)


async def alert(conn: asyncpg.Connection, m: str, alert_id: uuid.UUID) -> dict[str, Any] | None:
    r = await conn.fetchrow("SELECT * FROM weak_signal_alerts WHERE id = $1 AND municipality = $2",
                            alert_id, m)
    return dict(r) if r else None


# -- cases -------------------------------------------------------------------------------------
_CASE = """
INSERT INTO outreach_cases (id, municipality, office, worker, stage, person_id, person_name,
    address, known, identified, origin, origin_id, meeting_ids, contact_due_at, created_at, changed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
ON CONFLICT DO NOTHING RETURNING id
"""


async def add_case(conn: asyncpg.Connection, m: str, c: Case, at: datetime, **f: Any) -> bool:
    """False when a meeting's decision already opened this person's case."""
    return await conn.fetchval(
        _CASE, c.id, m, c.office, f.get("worker"), c.stage, c.person_id, f.get("person_name"),
        f.get("address"), f.get("known"), c.identified, f["origin"], f.get("origin_id"),
        list(f.get("meeting_ids", ())), f.get("contact_due_at"), at) is not None


async def case(conn: asyncpg.Connection, m: str, case_id: uuid.UUID,
               for_update: bool = False) -> dict[str, Any] | None:
    r = await conn.fetchrow("SELECT * FROM outreach_cases WHERE id = $1 AND municipality = $2"
                            + (" FOR UPDATE" if for_update else ""), case_id, m)
    return dict(r) if r else None


async def for_office(conn: asyncpg.Connection, m: str, office: str, stage: str | None,
                     limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT id, stage, origin, origin_id, person_id, worker, contact_due_at, "
                            "changed_at FROM outreach_cases WHERE municipality = $1 AND office = $2 "
                            "AND ($3::text IS NULL OR stage = $3) ORDER BY changed_at DESC LIMIT $4",
                            m, office, stage, limit)
    return [dict(r) for r in rows]


def as_case(row: dict[str, Any]) -> Case:
    return Case(row["id"], row["office"], row["stage"], row["paused_from"], row["person_id"],
                row["identified"])


async def live_cases_of(conn: asyncpg.Connection, m: str, person_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT * FROM outreach_cases WHERE person_id = $1 AND municipality = $2 "
                            "AND stage = ANY($3::text[]) ORDER BY created_at FOR UPDATE",
                            person_id, m, sorted(LIVE))
    return [dict(r) for r in rows]


async def live_cases_from(conn: asyncpg.Connection, m: str, decision_id: uuid.UUID) -> list[dict[str, Any]]:
    """The live cases a meeting's decision opened (and no later decision took over)."""
    rows = await conn.fetch("SELECT * FROM outreach_cases WHERE origin_id = $1 AND municipality = $2 "
                            "AND origin = 'meeting' AND stage = ANY($3::text[]) ORDER BY created_at "
                            "FOR UPDATE", decision_id, m, sorted(LIVE | {"paused"}))
    return [dict(r) for r in rows]


async def save(conn: asyncpg.Connection, m: str, c: Case, at: datetime, **f: Any) -> None:
    """The case's new stage, and any of: end_reason, consent_id, consultation_id, contact_due_at
    (a new due date clears the overdue mark), handover_to, handover_categories, meeting_ids."""
    sets = ["stage = $3", "paused_from = $4", "changed_at = $5"]
    args: list[Any] = [c.id, m, c.stage, c.paused_from, at]
    for name, value in f.items():
        args.append(list(value) if isinstance(value, tuple) else value)
        sets.append(f"{name} = ${len(args)}")
    if "contact_due_at" in f:
        sets.append("overdue_at = NULL")
    await conn.execute(f"UPDATE outreach_cases SET {', '.join(sets)} WHERE id = $1 AND "
                       "municipality = $2", *args)


async def add_attempt(conn: asyncpg.Connection, case_id: uuid.UUID, method: str, outcome: str,
                      at: datetime, next_on: date | None, note: str | None, by: str) -> None:
    await conn.execute("INSERT INTO contact_attempts VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                       uuid.uuid4(), case_id, method, outcome, at, next_on, note, by)


async def add_action(conn: asyncpg.Connection, case_id: uuid.UUID, kind: str, at: datetime,
                     to_office: str | None, note: str | None, by: str) -> uuid.UUID:
    action_id = uuid.uuid4()
    await conn.execute("INSERT INTO support_actions VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       action_id, case_id, kind, at, to_office, note, by)
    return action_id


async def log_of(conn: asyncpg.Connection, case_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    attempts = await conn.fetch("SELECT method, outcome, attempted_at, next_attempt_on, note, "
                                "recorded_by FROM contact_attempts WHERE case_id = $1 "
                                "ORDER BY attempted_at", case_id)
    actions = await conn.fetch("SELECT kind, done_at, to_office, note, recorded_by FROM "
                               "support_actions WHERE case_id = $1 ORDER BY done_at", case_id)
    return {"attempts": [dict(r) for r in attempts], "actions": [dict(r) for r in actions]}


# Raised once per due date: the rows marked are the ones whose event is recorded with the mark.
OVERDUE = """
UPDATE outreach_cases SET overdue_at = $2 WHERE id IN (
    SELECT id FROM outreach_cases WHERE municipality = $1 AND contact_due_at <= $2
    AND overdue_at IS NULL AND stage = ANY($4::text[])
    ORDER BY contact_due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id, office, worker, identified, contact_due_at
"""


async def mark_overdue(conn: asyncpg.Connection, m: str, at: datetime,
                       limit: int = 500) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(OVERDUE, m, at, limit, sorted(LIVE))]


async def consents_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[tuple[uuid.UUID, Consent]]:
    """The person's consents as the kit's view holds them (kit/views.py), with their ids: a
    hand-over names the consent it rests on."""
    rows = await conn.fetch("SELECT * FROM consent_view WHERE person_id = $1 ORDER BY valid_from",
                            person_id)
    return [(r["consent_id"], views.consent_of(r)) for r in rows]
