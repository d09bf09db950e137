"""Scheduling a meeting, adding its members and tabling its items."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request

from contracts.events.meetings import MemberJoined
from kit import views
from kit.access import Access
from kit.clock import now
from kit.policy import Record
from kit.principal import Principal
from kit.uow import UnitOfWork

from .. import bodies, domain
from ..commands import AgendaIn, MeetingIn, MemberIn
from ..materials import frame_record
from ..store import meetings as store
from .common import chair_only, covered, meeting, refused


async def schedule(command: MeetingIn, uow: UnitOfWork, principal: Principal,
                   access: Access) -> dict[str, Any]:
    try:
        held_by = bodies.body_for(command.kind, command.body)
    except domain.MeetingRuleBroken as exc:
        raise refused(exc) from exc
    await access.require(uow, principal, principal.has("coordinator"), "write", "meeting", None,
                         COORDINATORS_ONLY)
    session = await _joint_session(uow, access, principal, command.joint_with, held_by.id)
    scheduled, events = domain.schedule(command.kind, command.scheduled_for, held_by.id, session,
                                        command.title, principal.user_id)
    await store.add(uow.conn, scheduled, uow.municipality, now())
    uow.record(*events)
    await access.audit_only(uow, principal, "write", "meeting", str(scheduled["id"]),
                            reason="scheduled; the user chairs it", purpose="meeting")
    return {**scheduled, "body_label": held_by.label}


async def _joint_session(uow: UnitOfWork, access: Access, principal: Principal,
                         joint_with: uuid.UUID | None, body: str) -> uuid.UUID | None:
    """合同開催: the session of `joint_with` (its chair's, another body's), which it starts if
    it had none. Each part stays a meeting of its own body."""
    if joint_with is None:
        return None
    other = await meeting(uow.conn, joint_with, uow.municipality)
    await chair_only(uow, access, principal, other, "meeting")
    session: uuid.UUID = other["joint_session"] or other["id"]
    if body in {p["body"] for p in await store.joint_parts(uow.conn, session)} | {other["body"]}:
        raise refused(domain.MeetingRuleBroken("合同開催では会議体ごとに一つの部です / a joint "
                                               "session holds one part per body"))
    await store.join_session(uow.conn, other["id"], session)
    return session


async def add_member(meeting_id: uuid.UUID, command: MemberIn, uow: UnitOfWork, principal: Principal,
                     access: Access) -> dict[str, str]:
    m = uow.municipality
    found = await meeting(uow.conn, meeting_id, m)
    await chair_only(uow, access, principal, found, "meeting_members")
    try:
        member, events = domain.join(meeting_id, found["kind"], command.user_id, command.agency,
                                     command.pledged_at)
    except domain.MeetingRuleBroken as exc:
        raise refused(exc) from exc
    persons = await store.tabled_persons(uow.conn, meeting_id)
    if found["kind"] == "multilayer_meeting":  # what is tabled must be shareable with them
        await covered(uow, access, principal, meeting_id, "meeting_members", persons,
                      [command.user_id], now())
    if await store.add_member(uow.conn, meeting_id, command.user_id, command.agency, command.pledged_at):
        await views.apply_member_joined(uow.conn, MemberJoined(**member), m)  # our own view: at once
        uow.record(*events)
    await access.audit_only(uow, principal, "write", "meeting_members", str(meeting_id),
                            tuple(persons), reason=f"the chair added {member['user_id']} "
                            f"({member['agency']})", purpose="meeting")
    return {"meeting_id": str(meeting_id), "user_id": command.user_id}


async def table(meeting_id: uuid.UUID, command: AgendaIn, uow: UnitOfWork, principal: Principal,
                access: Access, request: Request) -> dict[str, str]:
    """A member who holds what is tabled presents it as an item of the meeting."""
    m, at = uow.municipality, now()
    found = await meeting(uow.conn, meeting_id, m)
    try:
        item, events = domain.table(meeting_id, found["kind"], command.person_ids,
                                    command.consultation_ids, command.notes, principal.user_id, at)
    except domain.MeetingRuleBroken as exc:
        raise refused(exc) from exc
    persons_of = await store.persons_of(uow.conn, command.consultation_ids)
    persons = frozenset(command.person_ids).union(*persons_of.values())
    await access.check(uow, request, principal, frame_record(found, persons), "write", "meeting_agenda",
                       str(meeting_id), purpose="meeting")
    await _may_table(uow, request, principal, access, command, persons_of)
    if found["kind"] == "multilayer_meeting":
        await covered(uow, access, principal, meeting_id, "meeting_agenda", persons,
                      await store.members(uow.conn, meeting_id), at)
    await store.add_agenda(uow.conn, item)
    uow.record(*events)
    return {"meeting_id": str(meeting_id), "item_id": str(item["id"])}


async def _may_table(uow: UnitOfWork, request: Request, principal: Principal, access: Access,
                     command: AgendaIn, persons_of: dict[uuid.UUID, frozenset[uuid.UUID]]) -> None:
    """Tabling hands a case on to the members: only its holder may, per meetings' view of
    intake's events (a case not yet known here is refused until its events arrive)."""
    subjects = [*((p, "person", frozenset({p})) for p in command.person_ids),
                *((c, "consultation", persons_of.get(c, frozenset())) for c in command.consultation_ids)]
    held = await views.holders_of(uow.conn, [s for s, _, _ in subjects])
    for subject, kind, persons in subjects:
        record = Record(municipality=uow.municipality, holders=held.get(subject, frozenset()),
                        person_ids=persons, meeting_ids=await views.tabled_in(uow.conn, [subject, *persons]))
        await access.check(uow, request, principal, record, "disclose", kind, str(subject),
                           purpose="meeting")


COORDINATORS_ONLY = ("会議を設定できるのは地域福祉コーディネーターです / meetings are scheduled by the "
                     "community welfare coordinators")
