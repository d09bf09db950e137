"""plans's HTTP routes: thin; every read and write decided and audited by kit/access."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.bounds import Id, Note, Reason
from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.clock import now
from kit.policy import HEALTH
from kit.problems import Problem
from kit.uow import UnitOfWork

from . import ledger, ledger_store, sheets, store, usecases
from .api_reads import plan_out, readable

router = APIRouter(tags=["アセスメント・プラン・伴走支援"])
Persons = list[uuid.UUID]


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_ids: Persons = Field(min_length=1, max_length=10)
    office: Id | None = None  # needed only when the user staffs several holding offices
    sheet: sheets.Sheet


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sheet: sheets.Sheet | None = None  # the final sheet; none: as drafted


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_ids: Persons = Field(min_length=1, max_length=10)
    office: Id | None = None
    content: sheets.Content


class RevisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: sheets.Content


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: Reason = Field(min_length=1)  # why the goals were met, partly met or not met


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Note = Field(min_length=1)
    office: Id | None = None


class NoteOut(BaseModel):
    id: uuid.UUID
    version: int | None
    office: str
    written_by: str
    body: str
    recorded_at: AwareDatetime


# -- assessments ------------------------------------------------------------------------------

@router.post("/assessments", status_code=201, summary="アセスメントを書く (a holder of every person)")
async def write_assessment(body: AssessmentIn, request: Request, principal: PrincipalDep,
                           uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await usecases.write_assessment(frozenset(body.person_ids), body.sheet, body.office,
                                              uow, principal, access, request)
        await uow.commit()
    return row


@router.get("/assessments/{assessment_id}", summary="アセスメントを見る")
async def get_assessment(assessment_id: uuid.UUID, request: Request, principal: PrincipalDep,
                         conn: ConnDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    row = await store.assessment(conn, assessment_id, settings.municipality_code)
    if row is None:
        raise usecases.not_found("Assessment")
    decision = await readable(conn, request, principal, access, settings.municipality_code,
                              row["person_ids"], row["office"], "assessment", assessment_id,
                              frozenset({HEALTH}))
    if HEALTH in decision.hidden:  # health details: holders, or a consent naming health
        row["sheet"]["areas"].pop("health_medical", None)
    return row


@router.post("/assessments/{assessment_id}/complete", summary="アセスメントを完了する")
async def complete_assessment(assessment_id: uuid.UUID, body: CompleteIn, request: Request,
                              principal: PrincipalDep, uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await usecases.complete_assessment(assessment_id, body.sheet, uow, principal, access, request)
        await uow.commit()
    return row


@router.post("/assessments/{assessment_id}/approve",
             summary="会議の承認を反映する (only with the meeting's approve_assessment decision)")
async def approve_assessment(assessment_id: uuid.UUID, request: Request, principal: PrincipalDep,
                             uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await usecases.approve_assessment(assessment_id, uow, principal, access, request)
        await uow.commit()
    return row


# -- plans ------------------------------------------------------------------------------------

@router.post("/plans", status_code=201, summary="プランを起案する (a holder of every person)")
async def draft(body: PlanIn, request: Request, principal: PrincipalDep, uow: UowDep,
                access: AccessDep) -> dict[str, Any]:
    async with uow:
        plan_id = await usecases.draft(frozenset(body.person_ids), body.content, body.office, uow,
                                       principal, access, request)
        return await _committed(uow, plan_id)


async def _committed(uow: UnitOfWork, plan_id: uuid.UUID) -> dict[str, Any]:
    """The plan as the write leaves it (its writer passed the write's check, which a read's
    would pass too), then the commit."""
    out = await plan_out(uow.conn, plan_id, uow.municipality)
    await uow.commit()
    return out


@router.post("/plans/{plan_id}/revisions", status_code=201,
             summary="見直す (a changed plan is a new version that goes back for approval)")
async def revise(plan_id: uuid.UUID, body: RevisionIn, request: Request, principal: PrincipalDep,
                 uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        await usecases.revise(plan_id, body.content, uow, principal, access, request)
        return await _committed(uow, plan_id)


@router.post("/plans/{plan_id}/approve",
             summary="会議の承認を反映する (only with the meeting's approve_plan decision)")
async def approve(plan_id: uuid.UUID, request: Request, principal: PrincipalDep, uow: UowDep,
                  access: AccessDep) -> dict[str, Any]:
    async with uow:
        await usecases.approve(plan_id, uow, principal, access, request)
        return await _committed(uow, plan_id)


@router.post("/plans/{plan_id}/close",
             summary="終結する (only with the meeting's close decision; its evaluation, and why)")
async def close(plan_id: uuid.UUID, body: CloseIn, request: Request, principal: PrincipalDep,
                uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        await usecases.close(plan_id, body.why, uow, principal, access, request)
        return await _committed(uow, plan_id)


@router.post("/plans/{plan_id}/notes", status_code=201, response_model=NoteOut,
             summary="経過を記録する (team offices the consent covers, and holders)")
async def add_note(plan_id: uuid.UUID, body: NoteIn, request: Request, principal: PrincipalDep,
                   uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        note = await usecases.add_note(plan_id, body.text, body.office, uow, principal, access, request)
        await uow.commit()
    return note


@router.get("/persons/{person_id}/lead", summary="主担当の記録 (who led the person's support, and at `at`)")
async def lead(person_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
               settings: SettingsDep, access: AccessDep,
               at: datetime | None = Query(None, description="an instant; default now")) -> dict[str, Any]:
    await readable(conn, request, principal, access, settings.municipality_code, [person_id], None,
                   "lead_ledger", person_id)
    when = at or now()
    if when.tzinfo is None:
        raise Problem(422, "Invalid request", "at must carry its time zone")
    entries = await ledger_store.entries(conn, person_id)
    found = ledger.lead_at(entries, when)
    return {"person_id": person_id, "at": when,
            "lead": _entry(found) if found else None,
            "ledger": [{**_entry(e), "until": until} for e, until in ledger.periods(entries)]}


def _entry(e: ledger.Entry) -> dict[str, Any]:
    return {"lead_agency": e.lead_agency, "lead_worker": e.lead_worker, "from": e.effective_at,
            "decision_id": e.decision_id, "plan_id": e.plan_id}
