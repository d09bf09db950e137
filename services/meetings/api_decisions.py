"""meetings' routes for the session and its decisions: recorded by the chair only."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts.bounds import Code, Id, Note, Reason
from contracts.events.meetings import DecisionKind, Evaluation, MeetingHeld
from kit import views
from kit.access import AccessDep
from kit.api import SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.clock import now

from . import decisions, store
from .api import _covered, _meeting, _places, _refused
from .domain import MeetingRuleBroken, attendance, uncovered

router = APIRouter(tags=["支援会議・重層的支援会議"])


class HeldIn(BaseModel):
    attendee_ids: list[Id] = Field(default_factory=list, max_length=100)
    minutes: Note | None = Field(None, description="議事録 (members only; never in events)")


class DecisionIn(BaseModel):
    kind: DecisionKind
    person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    consultation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    plan_id: uuid.UUID | None = None
    plan_version: int | None = Field(None, ge=1, le=10_000)
    assessment_id: uuid.UUID | None = None
    outreach_case_id: uuid.UUID | None = None
    lead_agency: Id | None = None
    lead_worker: Id | None = None
    evaluation: Evaluation | None = None
    need_codes: list[Code] = Field(default_factory=list, max_length=20)
    supersedes: uuid.UUID | None = Field(None, description="訂正する決定 (a correction)")
    reason: Reason | None = Field(None, description="訂正の理由 (kept in meetings only)")


@router.post("/meetings/{meeting_id}/held", status_code=201, summary="開催を記録する (the chair)")
async def held(meeting_id: uuid.UUID, body: HeldIn, principal: PrincipalDep, uow: UowDep,
               settings: SettingsDep, access: AccessDep) -> dict[str, str]:
    at = now()
    async with uow:
        meeting = await _meeting(uow.conn, meeting_id, settings.municipality_code)
        await access.require(uow, principal, principal.user_id == meeting["created_by"], "write",
                             "meeting_session", str(meeting_id), _CHAIR_ONLY)
        try:
            attended = attendance(body.attendee_ids, await store.members(uow.conn, meeting_id),
                                  meeting["created_by"])
        except MeetingRuleBroken as exc:
            raise _refused(exc) from exc
        if await store.hold(uow.conn, meeting_id, at, list(attended), body.minutes, principal.user_id):
            uow.record(MeetingHeld(meeting_id=meeting_id, kind=meeting["kind"],
                                   attendee_ids=attended, held_at=at))
        await access.audit_only(uow, principal, "write", "meeting_session", str(meeting_id),
                                reason="the chair recorded the session", purpose="meeting")
        await uow.commit()
    return {"meeting_id": str(meeting_id)}


@router.post("/meetings/{meeting_id}/decisions", status_code=201,
             summary="決定を記録する (the chair; final once recorded, corrected by a new decision)")
async def decide(meeting_id: uuid.UUID, body: DecisionIn, principal: PrincipalDep, uow: UowDep,
                 settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    at = now()
    async with uow:
        meeting = await _meeting(uow.conn, meeting_id, settings.municipality_code)
        await access.require(uow, principal, principal.user_id == meeting["created_by"], "write",
                             "meeting_decision", str(meeting_id), _CHAIR_ONLY)
        persons_of = await store.persons_of(uow.conn, body.consultation_ids)
        persons = frozenset(body.person_ids).union(*persons_of.values())
        previous = await store.decision(uow.conn, body.supersedes) if body.supersedes else None
        facts = body.model_dump(exclude={"reason"})
        try:
            decided, corrected = decisions.decide(meeting_id, meeting["kind"], facts,
                                                  await store.tabled_subjects(uow.conn, meeting_id),
                                                  previous, body.reason, at)
        except MeetingRuleBroken as exc:
            raise _refused(exc) from exc
        if meeting["kind"] == "multilayer_meeting":  # decided only where consent covers everyone
            gaps = uncovered(persons, await _places(uow.conn, await store.members(uow.conn, meeting_id)),
                             await views.consents_for(uow.conn, persons), at)
            await _covered(uow, access, principal, meeting_id, "meeting_decision", persons, gaps)
        await store.add_decision(uow.conn, decided, sorted(persons), body.reason, principal.user_id)
        uow.record(decided)
        if corrected is not None:
            if not await store.supersede(uow.conn, corrected.decision_id, decided.decision_id):
                raise _refused(MeetingRuleBroken("that decision is already superseded"))
            uow.record(corrected)
        await access.audit_only(uow, principal, "write", "meeting_decision", str(decided.decision_id),
                                tuple(persons), reason=f"the chair decided {body.kind}",
                                purpose="meeting")
        await uow.commit()
    return decided.model_dump(mode="json")


_CHAIR_ONLY = ("開催と決定を記録できるのはこの会議の議長だけです / only the meeting's chair records "
               "its session and its decisions")
