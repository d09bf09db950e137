"""The session and its decisions: recorded by the chair only."""

from __future__ import annotations

import uuid
from typing import Any

from kit.access import Access
from kit.clock import now
from kit.principal import Principal
from kit.uow import UnitOfWork

from .. import decisions, domain
from ..commands import DecisionIn, HeldIn
from ..store import decisions as decided_store
from ..store import meetings as store
from .common import chair_only, covered, meeting, places, refused


async def held(meeting_id: uuid.UUID, command: HeldIn, uow: UnitOfWork, principal: Principal,
               access: Access) -> dict[str, str]:
    found = await meeting(uow.conn, meeting_id, uow.municipality)
    await chair_only(uow, access, principal, found, "meeting_session", RECORDED_BY_CHAIR)
    try:
        session, events = domain.hold(found, command.attendee_ids,
                                      await store.members(uow.conn, meeting_id), command.minutes, now())
    except domain.MeetingRuleBroken as exc:
        raise refused(exc) from exc
    if await store.hold(uow.conn, session, principal.user_id):
        uow.record(*events)
    await access.audit_only(uow, principal, "write", "meeting_session", str(meeting_id),
                            reason="the chair recorded the session", purpose="meeting")
    return {"meeting_id": str(meeting_id)}


async def decide(meeting_id: uuid.UUID, command: DecisionIn, uow: UnitOfWork, principal: Principal,
                 access: Access) -> dict[str, Any]:
    """Final once recorded; a correction is a new decision superseding the one in force."""
    at = now()
    found = await meeting(uow.conn, meeting_id, uow.municipality)
    await chair_only(uow, access, principal, found, "meeting_decision", RECORDED_BY_CHAIR)
    persons_of = await store.persons_of(uow.conn, command.consultation_ids)
    persons = frozenset(command.person_ids).union(*persons_of.values())
    previous = await decided_store.decision(uow.conn, command.supersedes) if command.supersedes else None
    members = await store.members(uow.conn, meeting_id)
    try:
        decisions.lead_among_members(found["kind"], command.model_dump(), await places(uow.conn, members))
        decided, events = decisions.decide(meeting_id, found["kind"], command.model_dump(exclude={"reason"}),
                                           await store.tabled_subjects(uow.conn, meeting_id),
                                           previous, command.reason, at)
    except domain.MeetingRuleBroken as exc:
        raise refused(exc) from exc
    if found["kind"] == "multilayer_meeting":  # decided only where consent covers everyone
        await covered(uow, access, principal, meeting_id, "meeting_decision", persons, members, at)
    await decided_store.add_decision(uow.conn, decided, sorted(persons), command.reason,
                                     principal.user_id)
    if command.supersedes is not None and not await decided_store.supersede(
            uow.conn, command.supersedes, decided.decision_id):
        raise refused(domain.MeetingRuleBroken("that decision is already superseded"))
    uow.record(*events)
    await access.audit_only(uow, principal, "write", "meeting_decision", str(decided.decision_id),
                            tuple(persons), reason=f"the chair decided {command.kind}", purpose="meeting")
    return decided.model_dump(mode="json")


RECORDED_BY_CHAIR = ("開催と決定を記録できるのはこの会議の議長だけです / only the meeting's chair "
                     "records its session and its decisions")
