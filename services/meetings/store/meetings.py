"""meetings' SQL: meetings, members, agenda, sessions, and the views kept from intake."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg


async def add(conn: asyncpg.Connection, meeting: dict[str, Any], municipality: str, at: datetime) -> None:
    await conn.execute("INSERT INTO meetings (id, municipality, kind, body, joint_session, title, "
                       "scheduled_for, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       meeting["id"], municipality, meeting["kind"], meeting["body"],
                       meeting["joint_session"], meeting["title"], meeting["scheduled_for"],
                       meeting["created_by"], at)


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


async def add_agenda(conn: asyncpg.Connection, item: dict[str, Any]) -> None:
    await conn.execute("INSERT INTO meeting_agenda (id, meeting_id, person_ids, consultation_ids, notes, "
                       "tabled_by, tabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", item["id"],
                       item["meeting_id"], item["person_ids"], item["consultation_ids"], item["notes"],
                       item["tabled_by"], item["tabled_at"])


async def details(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> dict[str, Any]:
    members = await conn.fetch("SELECT user_id, agency, pledged_at FROM meeting_members "
                               "WHERE meeting_id = $1 ORDER BY user_id", meeting_id)
    agenda = await conn.fetch("SELECT id, person_ids, consultation_ids, notes, tabled_by, tabled_at "
                              "FROM meeting_agenda WHERE meeting_id = $1 ORDER BY tabled_at, id",
                              meeting_id)
    return {"members": [dict(m) for m in members], "agenda": [dict(a) for a in agenda]}


async def link_persons(conn: asyncpg.Connection, municipality: str, consultation_id: uuid.UUID,
                       person_ids: list[uuid.UUID]) -> None:
    await conn.execute("INSERT INTO consultation_persons_view (consultation_id, municipality, person_id) "
                       "SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING",
                       consultation_id, municipality, person_ids)


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


async def hold(conn: asyncpg.Connection, session: dict[str, Any], user: str) -> bool:
    """Record the session once; False when it was recorded already."""
    return await conn.fetchval("INSERT INTO meeting_sessions (meeting_id, held_at, attendee_ids, minutes, "
                               "recorded_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING "
                               "RETURNING 1", session["meeting_id"], session["held_at"],
                               session["attendee_ids"], session["minutes"], user) is not None


async def session(conn: asyncpg.Connection, meeting_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT held_at, attendee_ids, minutes FROM meeting_sessions "
                              "WHERE meeting_id = $1", meeting_id)
    return dict(row) if row else None


async def join_session(conn: asyncpg.Connection, meeting_id: uuid.UUID, session: uuid.UUID) -> None:
    """The first part of a joint session names it (its own id)."""
    await conn.execute("UPDATE meetings SET joint_session = $2 WHERE id = $1 AND joint_session IS NULL",
                       meeting_id, session)
