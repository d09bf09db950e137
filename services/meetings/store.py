"""meetings' SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from contracts.events.meetings import MeetingDecided


async def add(conn: asyncpg.Connection, meeting_id: uuid.UUID, municipality: str, kind: str,
              body: str, joint_session: uuid.UUID | None, title: str, scheduled_for: datetime,
              user: str, at: datetime) -> None:
    await conn.execute("INSERT INTO meetings (id, municipality, kind, body, joint_session, title, "
                       "scheduled_for, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       meeting_id, municipality, kind, body, joint_session, title, scheduled_for, user, at)


async def get(conn: asyncpg.Connection, meeting_id: uuid.UUID, municipality: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM meetings WHERE id = $1 AND municipality = $2",
                              meeting_id, municipality)
    return dict(row) if row else None


async def joint_parts(conn: asyncpg.Connection, session_id: uuid.UUID) -> list[dict[str, Any]]:
    """The parts of a joint session: each body's meeting (ids and bodies only)."""
    return [dict(r) for r in await conn.fetch("SELECT id, body FROM meetings WHERE joint_session = $1 "
                                              "ORDER BY created_at, id", session_id)]


async def add_member(conn: asyncpg.Connection, meeting_id: uuid.UUID, user_id: str, agency: str,
                     pledged_at: datetime | None) -> bool:
    return await conn.fetchval("INSERT INTO meeting_members (meeting_id, user_id, agency, pledged_at) "
                               "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
                               meeting_id, user_id, agency, pledged_at) is not None


async def add_agenda(conn: asyncpg.Connection, meeting_id: uuid.UUID, person_ids: list[uuid.UUID],
                     consultation_ids: list[uuid.UUID], notes: str | None, user: str,
                     at: datetime) -> None:
    await conn.execute("INSERT INTO meeting_agenda (id, meeting_id, person_ids, consultation_ids, notes, "
                       "tabled_by, tabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", uuid.uuid4(),
                       meeting_id, person_ids, consultation_ids, notes, user, at)


async def details(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> dict[str, Any]:
    members = await conn.fetch("SELECT user_id, agency, pledged_at FROM meeting_members "
                               "WHERE meeting_id = $1 ORDER BY user_id", meeting_id)
    agenda = await conn.fetch("SELECT person_ids, consultation_ids, notes, tabled_by, tabled_at "
                              "FROM meeting_agenda WHERE meeting_id = $1 ORDER BY tabled_at", meeting_id)
    return {"members": [dict(m) for m in members], "agenda": [dict(a) for a in agenda]}


async def add_holders(conn: asyncpg.Connection, municipality: str,
                      held: list[tuple[uuid.UUID, str]]) -> None:
    await conn.executemany("INSERT INTO case_holders_view (subject_id, municipality, office) "
                           "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                           [(s, municipality, o) for s, o in held])


async def link_persons(conn: asyncpg.Connection, municipality: str, consultation_id: uuid.UUID,
                       person_ids: list[uuid.UUID]) -> None:
    await conn.execute("INSERT INTO consultation_persons_view (consultation_id, municipality, person_id) "
                       "SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING",
                       consultation_id, municipality, person_ids)


async def holders_of(conn: asyncpg.Connection, subject_ids: list[uuid.UUID]
                     ) -> dict[uuid.UUID, frozenset[str]]:
    rows = await conn.fetch("SELECT subject_id, array_agg(office) AS offices FROM case_holders_view "
                            "WHERE subject_id = ANY($1::uuid[]) GROUP BY subject_id", subject_ids)
    return {r["subject_id"]: frozenset(r["offices"]) for r in rows}


async def persons_of(conn: asyncpg.Connection, consultation_ids: list[uuid.UUID]
                     ) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    rows = await conn.fetch("SELECT consultation_id, array_agg(person_id) AS persons "
                            "FROM consultation_persons_view WHERE consultation_id = ANY($1::uuid[]) "
                            "GROUP BY consultation_id", consultation_ids)
    return {r["consultation_id"]: frozenset(r["persons"]) for r in rows}


async def members(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> list[str]:
    """The user ids of a meeting's members."""
    return [r[0] for r in await conn.fetch("SELECT DISTINCT user_id FROM meeting_members "
                                           "WHERE meeting_id = $1", meeting_id)]


async def tabled_persons(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> list[uuid.UUID]:
    """Every person on the agenda, named or through a tabled consultation (as far as known)."""
    return [r[0] for r in await conn.fetch(
        "SELECT unnest(person_ids) FROM meeting_agenda WHERE meeting_id = $1 UNION "
        "SELECT v.person_id FROM meeting_agenda a, unnest(a.consultation_ids) c "
        "JOIN consultation_persons_view v ON v.consultation_id = c WHERE a.meeting_id = $1",
        meeting_id)]


async def tabled_subjects(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """Every person and consultation id on the agenda (persons also through consultations)."""
    rows = await conn.fetch("SELECT unnest(consultation_ids) FROM meeting_agenda WHERE meeting_id = $1",
                            meeting_id)
    return frozenset([r[0] for r in rows] + await tabled_persons(conn, meeting_id))


async def hold(conn: asyncpg.Connection, meeting_id: uuid.UUID, at: datetime, attendees: list[str],
               minutes: str | None, user: str) -> bool:
    """Record the session once; False when it was recorded already."""
    return await conn.fetchval("INSERT INTO meeting_sessions (meeting_id, held_at, attendee_ids, minutes, "
                               "recorded_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING "
                               "RETURNING 1", meeting_id, at, attendees, minutes, user) is not None


async def session(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT held_at, attendee_ids, minutes FROM meeting_sessions "
                              "WHERE meeting_id = $1", meeting_id)
    return dict(row) if row else None


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


async def join_session(conn: asyncpg.Connection, meeting_id: uuid.UUID, session: uuid.UUID) -> None:
    """The first part of a joint session names it (its own id)."""
    await conn.execute("UPDATE meetings SET joint_session = $2 WHERE id = $1 AND joint_session IS NULL",
                       meeting_id, session)
