"""meetings' HTTP routes: schedule, members (with pledge), agenda; read by members only."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Id, Instant, Note, Title
from contracts.events.meetings import MeetingKind
from kit import views
from kit.access import AccessDep, redact
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.clock import now
from kit.policy import MEETING_NOTES, Record
from kit.problems import Problem

from . import domain, store

router = APIRouter(tags=["支援会議・重層的支援会議"])


class MeetingIn(BaseModel):
    kind: MeetingKind
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
    title: str
    scheduled_for: AwareDatetime
    members: list[dict[str, Any]] = []
    agenda: list[dict[str, Any]] = []


def _coordinator(principal: Any) -> None:
    if not principal.has("coordinator"):
        raise Problem(403, "Forbidden", "meetings are run by the community welfare coordinators",
                      type_="urn:tsunagu:problem:forbidden")


async def _meeting(conn: Any, meeting_id: uuid.UUID, municipality: str) -> dict[str, Any]:
    meeting = await store.get(conn, meeting_id, municipality)
    if meeting is None:
        raise Problem(404, "Meeting not found", type_="urn:tsunagu:problem:not-found")
    return meeting


def _refused(exc: domain.MeetingRuleBroken) -> Problem:
    return Problem(422, "Refused by the meeting rules", str(exc))


@router.post("/meetings", status_code=201, response_model=MeetingOut, summary="会議を設定する")
async def schedule(body: MeetingIn, principal: PrincipalDep, uow: UowDep,
                   settings: SettingsDep) -> dict[str, Any]:
    _coordinator(principal)
    event = domain.schedule(body.kind, body.scheduled_for)
    async with uow:
        await store.add(uow.conn, event.meeting_id, settings.municipality_code, body.kind, body.title,
                        body.scheduled_for, principal.user_id, now())
        uow.record(event)
        await uow.commit()
    return {"id": event.meeting_id, **body.model_dump()}


@router.post("/meetings/{meeting_id}/members", status_code=201, summary="構成員を加える")
async def add_member(meeting_id: uuid.UUID, body: MemberIn, principal: PrincipalDep, uow: UowDep,
                     settings: SettingsDep) -> dict[str, str]:
    _coordinator(principal)
    async with uow:
        meeting = await _meeting(uow.conn, meeting_id, settings.municipality_code)
        try:
            joined = domain.join(meeting_id, meeting["kind"], body.user_id, body.agency, body.pledged_at)
        except domain.MeetingRuleBroken as exc:
            raise _refused(exc) from exc
        if await store.add_member(uow.conn, meeting_id, body.user_id, body.agency, body.pledged_at):
            uow.record(joined)
        await uow.commit()
    return {"meeting_id": str(meeting_id), "user_id": body.user_id}


@router.post("/meetings/{meeting_id}/agenda", status_code=201, summary="事例を付議する")
async def table(meeting_id: uuid.UUID, body: AgendaIn, principal: PrincipalDep, uow: UowDep,
                settings: SettingsDep, access: AccessDep) -> dict[str, str]:
    _coordinator(principal)
    at = now()
    async with uow:
        meeting = await _meeting(uow.conn, meeting_id, settings.municipality_code)
        consents = await views.consents_for(uow.conn, body.person_ids)
        try:
            tabled = domain.table(meeting_id, meeting["kind"], body.person_ids, body.consultation_ids,
                                  consents, at, await store.is_member(uow.conn, meeting_id,
                                                                      principal.user_id))
        except domain.MeetingRuleBroken as exc:
            raise _refused(exc) from exc
        await store.add_agenda(uow.conn, meeting_id, body.person_ids, body.consultation_ids, body.notes,
                               principal.user_id, at)
        uow.record(tabled)
        await access.audit_only(uow, principal, "write", "meeting_agenda", str(meeting_id),
                                tuple(body.person_ids), purpose="meeting")
        await uow.commit()
    return {"meeting_id": str(meeting_id)}


@router.get("/meetings/{meeting_id}", response_model=MeetingOut, summary="会議を見る (members)")
async def get(meeting_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
              settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    meeting = await _meeting(conn, meeting_id, settings.municipality_code)
    details = await store.details(conn, meeting_id)
    persons = frozenset(p for a in details["agenda"] for p in a["person_ids"])
    record = Record(municipality=settings.municipality_code, holders=frozenset(),
                    person_ids=persons, meeting_ids=frozenset({meeting_id}),
                    confidential_106_6=meeting["kind"] == "support_meeting",
                    field_classes=frozenset({MEETING_NOTES}))
    decision = await access.check(conn, request, principal, record, "read", "meeting", str(meeting_id),
                                  purpose="meeting")
    agenda = [redact(a, decision, {"notes": MEETING_NOTES}) for a in details["agenda"]]
    return {**meeting, "members": details["members"], "agenda": agenda}


