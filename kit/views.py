"""Each service's view of consents, meeting membership and the directory (and, where a service
asks for it, of who holds which case), and the handlers that keep it.

Every service registers these handlers beside its own, so a consent withdrawn at intake stops
access in every service as soon as the event arrives (seconds), without calling intake.
Expiry needs no event to take effect: the policy compares valid_until with the clock. Where a
user acts (their offices and legal bodies) is looked up in the directory view, like meeting
membership: never inferred from a role or read from the token.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from contracts.envelope import Envelope
from contracts.events.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    ConsultationReceived,
    PersonRegistered,
)
from contracts.events.meetings import CaseTabled, MemberJoined
from contracts.events.referral import DirectoryChanged
from kit import holders
from kit.inbox import Batched, HandlerContext, Handlers
from kit.policy import Consent, Office, Workplace
from kit.uow import UnitOfWork

_GRANT = """
INSERT INTO consent_view (consent_id, municipality, person_id, agencies, purposes, valid_from,
    valid_until, all_participating, participating_bodies)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (consent_id) DO NOTHING
"""
# A run of grants in one statement, in their order (the first of a consent_id wins, as one by
# one): a statement per row cost PostgreSQL twice as much on a replay (bench/PROFILE.md). A row's
# lists travel as text[] literals (`_text_array`): unnest cannot take arrays of unequal lengths.
_GRANT_ALL = """
INSERT INTO consent_view (consent_id, municipality, person_id, agencies, purposes, valid_from,
    valid_until, all_participating, participating_bodies)
SELECT c, m, p, a::text[], u::text[], f, t, ap, b::text[]
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[],
            $7::timestamptz[], $8::boolean[], $9::text[]) AS g (c, m, p, a, u, f, t, ap, b)
ON CONFLICT (consent_id) DO NOTHING
"""
# A withdrawal can arrive before its grant only if replayed out of order; keep the earliest.
_END = """
UPDATE consent_view SET withdrawn_at = LEAST(coalesce(withdrawn_at, $2), $2), updated_at = now()
WHERE consent_id = $1
"""
_END_FOR = """
UPDATE consent_view SET withdrawn_for = ARRAY(SELECT DISTINCT unnest(withdrawn_for || $2::text[])),
    updated_at = now()
WHERE consent_id = $1
"""
_CONSENTS = """
SELECT person_id, agencies, purposes, valid_from, valid_until, withdrawn_at, all_participating,
    withdrawn_for, participating_bodies
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


async def apply_consent_ended(conn: asyncpg.Connection, consent_id: UUID, at: object,
                              only_for: Iterable[str] = ()) -> None:
    """Ended from `at`; for the bodies in `only_for` alone when it names any."""
    only = list(only_for)
    if only:
        await conn.execute(_END_FOR, consent_id, only)
    else:
        await conn.execute(_END, consent_id, at)


def _grant_args(e: ConsentGranted, municipality: str) -> tuple[object, ...]:
    return (e.consent_id, municipality, e.person_id, list(e.agencies), list(e.purposes),
            e.valid_from, e.valid_until, e.all_participating, list(e.participating_bodies))


async def apply_consent_granted(conn: asyncpg.Connection, e: ConsentGranted, municipality: str) -> None:
    await conn.execute(_GRANT, *_grant_args(e, municipality))


async def _granted(e: ConsentGranted, ctx: HandlerContext) -> None:
    await apply_consent_granted(ctx.uow.conn, e, ctx.envelope.municipality)


def _text_array(values: Iterable[str]) -> str:
    """A text[] literal of `values`: each quoted, its backslashes and quotes escaped (a NUL
    cannot occur: contracts/bounds.py refuses it in every text of an event)."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"


async def _granted_many(events: list[tuple[ConsentGranted, Envelope]], uow: UnitOfWork) -> None:
    await uow.conn.execute(
        _GRANT_ALL, [e.consent_id for e, _ in events], [env.municipality for _, env in events],
        [e.person_id for e, _ in events], [_text_array(e.agencies) for e, _ in events],
        [_text_array(e.purposes) for e, _ in events], [e.valid_from for e, _ in events],
        [e.valid_until for e, _ in events], [e.all_participating for e, _ in events],
        [_text_array(e.participating_bodies) for e, _ in events])


async def _withdrawn(e: ConsentWithdrawn, ctx: HandlerContext) -> None:
    await apply_consent_ended(ctx.uow.conn, e.consent_id, e.withdrawn_at, e.only_for)


async def _expired(e: ConsentExpired, ctx: HandlerContext) -> None:
    await apply_consent_ended(ctx.uow.conn, e.consent_id, e.expired_at)


async def _ended_many(ends: list[tuple[UUID, object, tuple[str, ...]]], uow: UnitOfWork) -> None:
    """Ends in any order have one effect (the earliest end; the union of bodies): two statements."""
    if everywhere := [(consent, at) for consent, at, only in ends if not only]:
        await uow.conn.executemany(_END, everywhere)
    if partial := [(consent, list(only)) for consent, _, only in ends if only]:
        await uow.conn.executemany(_END_FOR, partial)


async def _withdrawn_many(events: list[tuple[ConsentWithdrawn, Envelope]], uow: UnitOfWork) -> None:
    await _ended_many([(e.consent_id, e.withdrawn_at, tuple(e.only_for)) for e, _ in events], uow)


async def _expired_many(events: list[tuple[ConsentExpired, Envelope]], uow: UnitOfWork) -> None:
    await _ended_many([(e.consent_id, e.expired_at, ()) for e, _ in events], uow)


async def apply_member_joined(conn: asyncpg.Connection, e: MemberJoined, municipality: str) -> None:
    await conn.execute(_MEMBER, e.meeting_id, municipality, e.user_id)


async def _member(e: MemberJoined, ctx: HandlerContext) -> None:
    await apply_member_joined(ctx.uow.conn, e, ctx.envelope.municipality)


async def _tabled(e: CaseTabled, ctx: HandlerContext) -> None:
    await ctx.uow.conn.execute(_TABLED, e.meeting_id, ctx.envelope.municipality, e.kind,
                               [*e.person_ids, *e.consultation_ids])


async def _directory(e: DirectoryChanged, ctx: HandlerContext) -> None:
    await apply_directory(ctx.uow.conn, e, ctx.envelope.municipality)


async def _directory_many(events: list[tuple[DirectoryChanged, Envelope]], uow: UnitOfWork) -> None:
    """Only the latest revision of a run counts (each replaces the whole view): apply that one."""
    latest: dict[str, DirectoryChanged] = {}
    for e, env in events:
        if env.municipality not in latest or e.revision > latest[env.municipality].revision:
            latest[env.municipality] = e
    for municipality, e in latest.items():
        await apply_directory(uow.conn, e, municipality)


HANDLERS: Handlers = {ConsentGranted: [Batched(_granted, _granted_many)],
                      ConsentWithdrawn: [Batched(_withdrawn, _withdrawn_many)],
                      ConsentExpired: [Batched(_expired, _expired_many)],
                      MemberJoined: [_member], CaseTabled: [_tabled],
                      DirectoryChanged: [Batched(_directory, _directory_many)]}


def consent_of(row: asyncpg.Record) -> Consent:
    """A row of consent_view as the policy reads it."""
    return Consent(row["person_id"], frozenset(row["agencies"]), frozenset(row["purposes"]),
                   row["valid_from"], row["valid_until"], row["withdrawn_at"],
                   row["all_participating"], frozenset(row["withdrawn_for"]),
                   frozenset(row["participating_bodies"]))


def granted(e: ConsentGranted) -> Consent:
    """The consent an event grants, as the policy reads it (before any withdrawal)."""
    return Consent(e.person_id, frozenset(e.agencies), frozenset(e.purposes), e.valid_from,
                   e.valid_until, all_participating=e.all_participating,
                   participating_bodies=frozenset(e.participating_bodies))


async def consents_for(conn: asyncpg.Connection, person_ids: Iterable[UUID]) -> tuple[Consent, ...]:
    ids = list(person_ids)
    if not ids:
        return ()
    return tuple(consent_of(r) for r in await conn.fetch(_CONSENTS, ids))


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


# -- the directory ----------------------------------------------------------------------------
_NEWER = """
INSERT INTO directory_view_revision (municipality, revision, changed_at) VALUES ($1, $2, $3)
ON CONFLICT (municipality) DO UPDATE SET revision = excluded.revision, changed_at = excluded.changed_at
WHERE directory_view_revision.revision < excluded.revision
RETURNING 1
"""
_WORKPLACE = """
SELECT o.office_id, o.legal_body_id, l.participating
FROM office_staff_view s JOIN office_view o USING (office_id)
JOIN legal_body_view l USING (legal_body_id)
WHERE s.user_id = $1
"""
_OFFICE = """
SELECT o.office_id, o.legal_body_id, o.kind, o.takes_handovers, l.participating
FROM office_view o JOIN legal_body_view l USING (legal_body_id) WHERE o.office_id = $1
"""
_PARTICIPATING = """
SELECT legal_body_id FROM legal_body_view WHERE municipality = $1 AND participating
ORDER BY legal_body_id
"""
_BODIES = """
INSERT INTO legal_body_view (legal_body_id, municipality, kind, participating)
SELECT b, $1, k, p FROM unnest($2::text[], $3::text[], $4::boolean[]) AS u (b, k, p)
"""
_OFFICES = """
INSERT INTO office_view (office_id, municipality, legal_body_id, kind, takes_handovers)
SELECT o, $1, b, k, t FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[]) AS u (o, b, k, t)
"""
_STAFF = """
INSERT INTO office_staff_view (office_id, user_id, municipality)
SELECT o, s, $1 FROM unnest($2::text[], $3::text[]) AS u (o, s)
"""
_KNOWN = """
SELECT office_id FROM office_view WHERE office_id = ANY($1::text[])
UNION SELECT legal_body_id FROM legal_body_view WHERE legal_body_id = ANY($1::text[])
"""


async def apply_directory(conn: asyncpg.Connection, e: DirectoryChanged, municipality: str) -> None:
    """Replace the view with revision `e.revision`, unless a later one is already here."""
    if not await conn.fetchval(_NEWER, municipality, e.revision, e.changed_at):
        return
    for table in ("office_staff_view", "office_view", "legal_body_view"):
        await conn.execute(f"DELETE FROM {table} WHERE municipality = $1", municipality)
    # One statement per table, the rows as arrays (unnest): executemany ran an INSERT per row,
    # up to 5,000 offices and their staff, each bound in Python and executed by PostgreSQL.
    bodies, offices = e.legal_bodies, e.offices
    await conn.execute(_BODIES, municipality, [b.legal_body_id for b in bodies],
                       [b.kind for b in bodies], [b.participating for b in bodies])
    await conn.execute(_OFFICES, municipality, [o.office_id for o in offices],
                       [o.legal_body_id for o in offices], [o.kind for o in offices],
                       [o.takes_handovers for o in offices])
    staffed = [(o.office_id, user) for o in offices for user in o.staff_user_ids]
    await conn.execute(_STAFF, municipality, [o for o, _ in staffed], [u for _, u in staffed])


async def workplace_of(conn: asyncpg.Connection, user_id: str) -> Workplace:
    """The offices the directory says this user staffs, and their legal bodies."""
    rows = await conn.fetch(_WORKPLACE, user_id)
    return Workplace(frozenset(r["office_id"] for r in rows),
                     frozenset(r["legal_body_id"] for r in rows),
                     frozenset(r["legal_body_id"] for r in rows if r["participating"]))


async def office(conn: asyncpg.Connection, office_id: str) -> Office | None:
    row = await conn.fetchrow(_OFFICE, office_id)
    return Office(**dict(row)) if row else None


async def participating_bodies(conn: asyncpg.Connection, municipality: str) -> tuple[str, ...]:
    """The legal bodies taking part in the 重層的支援体制 now: what a consent to every
    participating body given now means (kit/policy.py Consent)."""
    return tuple(r[0] for r in await conn.fetch(_PARTICIPATING, municipality))


async def unknown_bodies(conn: asyncpg.Connection, ids: Iterable[str]) -> list[str]:
    """Of these ids, the ones that are neither an office nor a legal body in the directory."""
    wanted = list(dict.fromkeys(ids))
    known = {r[0] for r in await conn.fetch(_KNOWN, wanted)}
    return [i for i in wanted if i not in known]


# -- who holds a case (plans, meetings) -------------------------------------------------------
# Kept from intake's events by the services where only a holder acts (they merge
# HOLDER_HANDLERS into their HANDLERS); who a holder is, kit/holders.py decides. It knows what
# the events said (registrations, consultations, who came, where they went), not what intake
# decides later (merges): a holder of a merged record is refused until the surviving record is
# held, which errs on the side of refusing. intake decides on its own tables.
_HOLD = """
INSERT INTO holders_view (subject_id, municipality, office) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
"""
_HOLDERS = """
SELECT subject_id, array_agg(office) AS offices FROM holders_view
WHERE subject_id = ANY($1::uuid[]) GROUP BY subject_id
"""
_HOLDING_EVERY = """
SELECT office FROM holders_view WHERE subject_id = ANY($1::uuid[])
GROUP BY office HAVING count(DISTINCT subject_id) = $2
"""


async def apply_holders(conn: asyncpg.Connection, municipality: str,
                        held: Iterable[tuple[UUID, str]]) -> None:
    """(subject, office): the office holds that person or consultation."""
    await conn.executemany(_HOLD, [(s, municipality, o) for s, o in held])


async def _holds_registered(e: PersonRegistered, ctx: HandlerContext) -> None:
    if e.registered_agency:
        await apply_holders(ctx.uow.conn, ctx.envelope.municipality,
                            [(e.person_id, e.registered_agency)])


async def _holds_received(e: ConsultationReceived, ctx: HandlerContext) -> None:
    held = [(e.consultation_id, office) for office in holders.of_consultation(
        e.receiving_division, e.destination_kind, e.destination_agency)]
    for person_id in e.person_ids:
        held += [(person_id, office) for office in holders.of_person_on(
            e.receiving_division, e.destination_kind, e.destination_agency,
            person_id in e.present_ids)]
    await apply_holders(ctx.uow.conn, ctx.envelope.municipality, held)


HOLDER_HANDLERS: Handlers = {PersonRegistered: [_holds_registered],
                             ConsultationReceived: [_holds_received]}


async def holders_of(conn: asyncpg.Connection, subject_ids: Iterable[UUID]) -> dict[UUID, frozenset[str]]:
    """The offices holding each of these persons or consultations (none held: not a key)."""
    rows = await conn.fetch(_HOLDERS, list(subject_ids))
    return {r["subject_id"]: frozenset(r["offices"]) for r in rows}


async def holding_every(conn: asyncpg.Connection, subject_ids: Iterable[UUID]) -> frozenset[str]:
    """The offices holding every one of these persons or consultations."""
    ids = list(dict.fromkeys(subject_ids))
    return frozenset(r["office"] for r in await conn.fetch(_HOLDING_EVERY, ids, len(ids)))
