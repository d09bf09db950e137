"""Each service's view of consents and meeting membership, and the handlers that keep it.

Every service registers these handlers beside its own, so a consent withdrawn at intake stops
access in every service as soon as the event arrives (seconds), without calling intake.
Expiry needs no event to take effect: the policy compares valid_until with the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from contracts.events.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn
from contracts.events.meetings import CaseTabled, MemberJoined
from kit.inbox import HandlerContext, Handlers
from kit.policy import Consent

_GRANT = """
INSERT INTO consent_view (consent_id, municipality, person_id, agencies, purposes, valid_from,
    valid_until)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (consent_id) DO NOTHING
"""
# A withdrawal can arrive before its grant only if replayed out of order; keep the earliest.
_END = """
UPDATE consent_view SET withdrawn_at = LEAST(coalesce(withdrawn_at, $2), $2), updated_at = now()
WHERE consent_id = $1
"""
_CONSENTS = """
SELECT person_id, agencies, purposes, valid_from, valid_until, withdrawn_at
FROM consent_view WHERE person_id = ANY($1::uuid[])
"""
_MEMBER = """
INSERT INTO meeting_members_view (meeting_id, municipality, user_id) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
"""
_TABLED = """
INSERT INTO tabled_view (meeting_id, municipality, kind, subject_id)
SELECT $1, $2, $3, unnest($4::uuid[]) ON CONFLICT DO NOTHING
"""


async def apply_consent_granted(conn: asyncpg.Connection, e: ConsentGranted, municipality: str) -> None:
    await conn.execute(_GRANT, e.consent_id, municipality, e.person_id, list(e.agencies),
                       list(e.purposes), e.valid_from, e.valid_until)


async def apply_consent_ended(conn: asyncpg.Connection, consent_id: UUID, at: object) -> None:
    await conn.execute(_END, consent_id, at)


async def _granted(e: ConsentGranted, ctx: HandlerContext) -> None:
    await apply_consent_granted(ctx.uow.conn, e, ctx.envelope.municipality)


async def _withdrawn(e: ConsentWithdrawn, ctx: HandlerContext) -> None:
    await apply_consent_ended(ctx.uow.conn, e.consent_id, e.withdrawn_at)


async def _expired(e: ConsentExpired, ctx: HandlerContext) -> None:
    await apply_consent_ended(ctx.uow.conn, e.consent_id, e.expired_at)


async def apply_member_joined(conn: asyncpg.Connection, e: MemberJoined, municipality: str) -> None:
    await conn.execute(_MEMBER, e.meeting_id, municipality, e.user_id)


async def _member(e: MemberJoined, ctx: HandlerContext) -> None:
    await apply_member_joined(ctx.uow.conn, e, ctx.envelope.municipality)


async def _tabled(e: CaseTabled, ctx: HandlerContext) -> None:
    await ctx.uow.conn.execute(_TABLED, e.meeting_id, ctx.envelope.municipality, e.kind,
                               [*e.person_ids, *e.consultation_ids])


HANDLERS: Handlers = {ConsentGranted: [_granted], ConsentWithdrawn: [_withdrawn],
                      ConsentExpired: [_expired], MemberJoined: [_member], CaseTabled: [_tabled]}


async def consents_for(conn: asyncpg.Connection, person_ids: Iterable[UUID]) -> tuple[Consent, ...]:
    ids = list(person_ids)
    if not ids:
        return ()
    return tuple(Consent(r["person_id"], frozenset(r["agencies"]), frozenset(r["purposes"]),
                         r["valid_from"], r["valid_until"], r["withdrawn_at"])
                 for r in await conn.fetch(_CONSENTS, ids))


async def meetings_of(conn: asyncpg.Connection, user_id: str) -> frozenset[UUID]:
    rows = await conn.fetch("SELECT meeting_id FROM meeting_members_view WHERE user_id = $1", user_id)
    return frozenset(r["meeting_id"] for r in rows)


async def tabled_in(conn: asyncpg.Connection, subject_ids: Iterable[UUID]) -> frozenset[UUID]:
    """The 支援会議 whose agenda holds any of these persons or consultations. Only a 支援会議
    (Art. 106-6) is a ground of its own for its members to read what it tabled; membership of a
    重層的支援会議 adds nothing to consent, which must cover each member's agency anyway."""
    rows = await conn.fetch("SELECT DISTINCT meeting_id FROM tabled_view WHERE subject_id = ANY($1::uuid[]) "
                            "AND kind = 'support_meeting'", list(subject_ids))
    return frozenset(r["meeting_id"] for r in rows)
