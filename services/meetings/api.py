"""meetings' HTTP routes: schedule, members (with pledge), agenda; read by members only."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Code, Id, Instant, Note, Title
from contracts.events.meetings import MeetingKind, PledgeSigned
from kit import views
from kit.access import Access, AccessDep, redact
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import Principal, PrincipalDep
from kit.clock import now
from kit.policy import MEETING_NOTES, Record, Workplace
from kit.problems import Problem
from kit.uow import UnitOfWork

from . import bodies, domain, store

router = APIRouter(tags=["支援会議・重層的支援会議"])


class MeetingIn(BaseModel):
    kind: MeetingKind
    body: Code | None = Field(None, description="会議体 (bodies.json; by default the one named like kind)")
    joint_with: uuid.UUID | None = Field(None, description="合同開催: a meeting of another body, "
                                         "chaired by the same user, whose session this part joins")
    title: Title = Field(min_length=1)
    scheduled_for: Instant


class MemberIn(BaseModel):
    user_id: Id
    agency: Id
    pledged_at: Instant | None = Field(None, description="守秘義務の誓約日 (required for 支援会議)")


class AgendaIn(BaseModel):
    person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    consultation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    notes: Note | None = Field(None, description="会議資料 (members only)")


class MeetingOut(BaseModel):
    id: uuid.UUID
    kind: MeetingKind
    body: str
    body_label: str
    joint_session: uuid.UUID | None = None
    joint_parts: list[dict[str, Any]] = []
    title: str
    scheduled_for: AwareDatetime
    members: list[dict[str, Any]] = []
    agenda: list[dict[str, Any]] = []
    session: dict[str, Any] | None = None
    decisions: list[dict[str, Any]] = []


async def _meeting(conn: Any, meeting_id: uuid.UUID, municipality: str) -> dict[str, Any]:
    meeting = await store.get(conn, meeting_id, municipality)
    if meeting is None:
        raise Problem(404, "Meeting not found", type_="urn:tsunagu:problem:not-found")
    return meeting


def _refused(exc: domain.MeetingRuleBroken) -> Problem:
    return Problem(422, "Refused by the meeting rules", str(exc))


def _material(meeting: dict[str, Any], municipality: str, persons: frozenset[uuid.UUID]) -> Record:
    """The meeting's own agenda and notes: read and written by its members."""
    return Record(municipality=municipality, holders=frozenset(), person_ids=persons,
                  meeting_ids=frozenset({meeting["id"]}), meeting_material=True,
                  confidential_106_6=meeting["kind"] == "support_meeting",
                  field_classes=frozenset({MEETING_NOTES}))


@router.post("/meetings", status_code=201, response_model=MeetingOut, summary="会議を設定する")
async def schedule(body: MeetingIn, principal: PrincipalDep, uow: UowDep, settings: SettingsDep,
                   access: AccessDep) -> dict[str, Any]:
    try:
        held_by = bodies.body_for(body.kind, body.body)
    except domain.MeetingRuleBroken as exc:
        raise _refused(exc) from exc
    async with uow:
        await access.require(uow, principal, principal.has("coordinator"), "write", "meeting", None,
                             _COORDINATORS_ONLY)
        session = await _joint_session(uow, access, principal, body.joint_with, held_by.id,
                                       settings.municipality_code)
        event = domain.schedule(body.kind, body.scheduled_for, held_by.id, session)
        await store.add(uow.conn, event.meeting_id, settings.municipality_code, body.kind, held_by.id,
                        session, body.title, body.scheduled_for, principal.user_id, now())
        uow.record(event)
        await access.audit_only(uow, principal, "write", "meeting", str(event.meeting_id),
                                reason="scheduled; the user chairs it", purpose="meeting")
        await uow.commit()
    return {"id": event.meeting_id, **body.model_dump(), "body": held_by.id,
            "body_label": held_by.label, "joint_session": session}


async def _joint_session(uow: UnitOfWork, access: Access, principal: Principal,
                         joint_with: uuid.UUID | None, body: str, m: str) -> uuid.UUID | None:
    """合同開催: the session of `joint_with` (its chair's, another body's), which it starts if
    it had none. Each part stays a meeting of its own body."""
    if joint_with is None:
        return None
    other = await _meeting(uow.conn, joint_with, m)
    await access.require(uow, principal, principal.user_id == other["created_by"], "write",
                         "meeting", str(joint_with), _CHAIR_ONLY)
    session: uuid.UUID = other["joint_session"] or other["id"]
    if body in {p["body"] for p in await store.joint_parts(uow.conn, session)} | {other["body"]}:
        raise _refused(domain.MeetingRuleBroken("合同開催では会議体ごとに一つの部です / a joint "
                                                "session holds one part per body"))
    await store.join_session(uow.conn, other["id"], session)
    return session


@router.post("/meetings/{meeting_id}/members", status_code=201,
             summary="構成員を加える (the meeting's chair only)")
async def add_member(meeting_id: uuid.UUID, body: MemberIn, principal: PrincipalDep, uow: UowDep,
                     settings: SettingsDep, access: AccessDep) -> dict[str, str]:
    m = settings.municipality_code
    async with uow:
        meeting = await _meeting(uow.conn, meeting_id, m)
        await access.require(uow, principal, principal.user_id == meeting["created_by"], "write",
                             "meeting_members", str(meeting_id), _CHAIR_ONLY)
        try:
            joined = domain.join(meeting_id, meeting["kind"], body.user_id, body.agency, body.pledged_at)
        except domain.MeetingRuleBroken as exc:
            raise _refused(exc) from exc
        persons = await store.tabled_persons(uow.conn, meeting_id)
        if meeting["kind"] == "multilayer_meeting":  # what is tabled must be shareable with them
            gaps = domain.uncovered(persons, await _places(uow.conn, [body.user_id]),
                                    await views.consents_for(uow.conn, persons), now())
            await _covered(uow, access, principal, meeting_id, "meeting_members", persons, gaps)
        if await store.add_member(uow.conn, meeting_id, body.user_id, body.agency, body.pledged_at):
            await views.apply_member_joined(uow.conn, joined, m)  # this service's view: at once
            uow.record(joined)
            if body.pledged_at is not None:
                uow.record(PledgeSigned(meeting_id=meeting_id, user_id=body.user_id,
                                        pledged_at=body.pledged_at))
        await access.audit_only(uow, principal, "write", "meeting_members", str(meeting_id),
                                tuple(persons), reason=f"the chair added {body.user_id} "
                                f"({body.agency})", purpose="meeting")
        await uow.commit()
    return {"meeting_id": str(meeting_id), "user_id": body.user_id}


@router.post("/meetings/{meeting_id}/agenda", status_code=201,
             summary="事例を付議する (a member who holds what is tabled)")
async def table(meeting_id: uuid.UUID, body: AgendaIn, request: Request, principal: PrincipalDep,
                uow: UowDep, settings: SettingsDep, access: AccessDep) -> dict[str, str]:
    m, at = settings.municipality_code, now()
    async with uow:
        meeting = await _meeting(uow.conn, meeting_id, m)
        try:
            tabled = domain.table(meeting_id, meeting["kind"], body.person_ids, body.consultation_ids, at)
        except domain.MeetingRuleBroken as exc:
            raise _refused(exc) from exc
        persons_of = await store.persons_of(uow.conn, body.consultation_ids)
        persons = frozenset(body.person_ids).union(*persons_of.values())
        await access.check(uow, request, principal, _material(meeting, m, persons), "write",
                           "meeting_agenda", str(meeting_id), purpose="meeting")
        await _may_table(uow, request, principal, access, body, persons_of, m)
        if meeting["kind"] == "multilayer_meeting":
            gaps = domain.uncovered(persons, await _places(uow.conn, await store.members(
                uow.conn, meeting_id)), await views.consents_for(uow.conn, persons), at)
            await _covered(uow, access, principal, meeting_id, "meeting_agenda", persons, gaps)
        await store.add_agenda(uow.conn, meeting_id, body.person_ids, body.consultation_ids, body.notes,
                               principal.user_id, at)
        uow.record(tabled)
        await uow.commit()
    return {"meeting_id": str(meeting_id)}


async def _places(conn: asyncpg.Connection, users: list[str]) -> dict[str, Workplace]:
    """Where each of these users acts, as the directory view says."""
    return {user: await views.workplace_of(conn, user) for user in users}


async def _covered(uow: UnitOfWork, access: Access, principal: Principal, meeting_id: uuid.UUID,
                   object_type: str, persons: Any, gaps: list[tuple[uuid.UUID, str]]) -> None:
    """A 重層的支援会議 shares only what consent covers: refuse (on record) where it does not."""
    if gaps:
        detail = domain.uncovered_message(gaps)
        await access.refuse(uow, access.entry(principal, "disclose", object_type, str(meeting_id),
                                              "denied", detail, tuple(persons), "meeting"), detail)


async def _may_table(uow: UnitOfWork, request: Request, principal: Principal, access: Access,
                     body: AgendaIn, persons_of: dict[uuid.UUID, frozenset[uuid.UUID]],
                     m: str) -> None:
    """Tabling hands a case on to the members: only its holder may, per meetings' view of
    intake's events (a case not yet known here is refused until its events arrive)."""
    subjects = [*((p, "person", frozenset({p})) for p in body.person_ids),
                *((c, "consultation", persons_of.get(c, frozenset())) for c in body.consultation_ids)]
    held = await store.holders_of(uow.conn, [s for s, _, _ in subjects])
    for subject, kind, persons in subjects:
        record = Record(municipality=m, holders=held.get(subject, frozenset()), person_ids=persons,
                        meeting_ids=await views.tabled_in(uow.conn, [subject, *persons]))
        await access.check(uow, request, principal, record, "disclose", kind, str(subject),
                           purpose="meeting")


@router.get("/meetings/{meeting_id}", response_model=MeetingOut, summary="会議を見る (members)")
async def get(meeting_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
              settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    meeting = await _meeting(conn, meeting_id, m)
    details = await store.details(conn, meeting_id)
    persons_of = await store.persons_of(conn, [c for a in details["agenda"] for c in a["consultation_ids"]])
    items = [(a, frozenset(a["person_ids"]).union(*(persons_of.get(c, frozenset())
                                                    for c in a["consultation_ids"])))
             for a in details["agenda"]]
    decision = await access.check(conn, request, principal,
                                  _material(meeting, m, frozenset().union(*(p for _, p in items))),
                                  "read", "meeting", str(meeting_id), purpose="meeting")
    decided = [(d, d.pop("concerns")) for d in await store.decisions(conn, meeting_id)]
    if meeting["kind"] == "multilayer_meeting":  # an item shows only where consent covers the reader
        concerned = frozenset().union(*(p for _, p in items), *(p for _, p in decided))
        consents = await views.consents_for(conn, concerned)
        reader = await _places(conn, [principal.user_id])
        items = [(a, p) for a, p in items if not domain.uncovered(p, reader, consents, now())]
        decided = [(d, p) for d, p in decided if not domain.uncovered(p, reader, consents, now())]
    agenda = [redact(a, decision, {"notes": MEETING_NOTES}) for a, _ in items]
    session = await store.session(conn, meeting_id)
    parts = await store.joint_parts(conn, meeting["joint_session"]) if meeting["joint_session"] else []
    return {**meeting, "body_label": bodies.BODIES[meeting["body"]].label,
            "joint_parts": [{**p, "body_label": bodies.BODIES[p["body"]].label} for p in parts],
            "members": details["members"], "agenda": agenda,
            "session": session and redact(session, decision, {"minutes": MEETING_NOTES}),
            "decisions": [d for d, _ in decided]}


_COORDINATORS_ONLY = ("会議を設定できるのは地域福祉コーディネーターです / meetings are scheduled by the "
                      "community welfare coordinators")
_CHAIR_ONLY = ("構成員を加えられるのはこの会議の議長（設定したコーディネーター）だけです。議長に依頼して"
               "ください / "
               "only the meeting's chair (the coordinator who scheduled it) adds members: ask them")
