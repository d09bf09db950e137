"""outreach's case routes: start, read (holders and the 支援会議's pledged members, audited),
log contact attempts, move stages, record support actions, plan the hand-over."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.bounds import Address, Code, Id, Instant, Name, Reason
from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep

from . import store
from .domain import cases
from .usecases import casework, common

router = APIRouter(tags=["アウトリーチ等を通じた継続的支援"])
Known = Reason  # what is known before consent: only what the contact needs


class CaseIn(BaseModel):
    """From a report or an alert (its subject is copied), or by a coordinator for a person."""

    model_config = ConfigDict(extra="forbid")
    office: Id | None = Field(None, description="the holding office; the coordinators' by default")
    worker: Id | None = None
    report_id: uuid.UUID | None = None
    alert_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = Field(None, description="intake's person, when known")
    person_name: Name | None = None
    address: Address | None = None
    known: Known | None = None


class AttemptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: cases.Method
    outcome: cases.Outcome
    next_attempt_on: date | None = None
    note: Reason | None = None


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: cases.Move
    reason: Code | None = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: cases.SupportAction
    done_at: Instant | None = None
    to_office: Id | None = Field(None, description="accompaniment: the office the person was taken to")
    note: Reason | None = None


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_office: Id
    categories: list[Code] = Field(default_factory=list, max_length=30,
                                   description="what the person agreed to share (相談分野)")
    person_id: uuid.UUID | None = None


class CaseOut(BaseModel):
    id: uuid.UUID
    office: str
    worker: str | None
    stage: str
    paused_from: str | None
    person_id: uuid.UUID | None
    person_name: str | None
    address: str | None
    known: str | None
    origin: str
    origin_id: uuid.UUID | None
    handover_to: str | None
    handover_categories: list[str]
    consultation_id: uuid.UUID | None
    end_reason: str | None
    contact_due_at: AwareDatetime | None
    overdue_at: AwareDatetime | None
    attempts: list[dict[str, Any]]
    actions: list[dict[str, Any]]


@router.post("/cases", status_code=201, response_model=CaseOut, summary="アウトリーチを始める")
async def start(body: CaseIn, request: Request, principal: PrincipalDep, uow: UowDep,
                access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await casework.start_case(body, uow, principal, access, request)
        await uow.commit()
    return row


class CaseSummary(BaseModel):
    """A line of an office's list: ids, stage and dates; the case itself is read one by one."""

    id: uuid.UUID
    stage: str
    origin: str
    origin_id: uuid.UUID | None
    person_id: uuid.UUID | None
    worker: str | None
    contact_due_at: AwareDatetime | None
    changed_at: AwareDatetime


@router.get("/cases", response_model=list[CaseSummary], summary="自所属のアウトリーチ一覧")
async def list_cases(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                     access: AccessDep, office: Id = Query(), stage: str | None = Query(None, max_length=30),
                     limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    await common.at_desk(conn, principal, access, "read", "outreach_case_list", office, office)
    rows = await store.for_office(conn, settings.municipality_code, office, stage, limit)
    await access.audit_only(conn, principal, "read", "outreach_case_list", office,
                            tuple({r["person_id"] for r in rows if r["person_id"]}),
                            reason="the user's own office")
    return rows


@router.get("/cases/{case_id}", response_model=CaseOut,
            summary="アウトリーチの記録を見る (holding office; 支援会議 members)")
async def read(case_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
               settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    row = await store.case(conn, m, case_id)
    if row is None:
        raise common.not_found("Outreach case")
    await access.check(conn, request, principal, await common.case_record(conn, m, row), "read",
                       "outreach_case", str(case_id))
    return await casework.read_case(conn, m, case_id)


@router.post("/cases/{case_id}/attempts", response_model=CaseOut, summary="接触の試みを記録する")
async def attempt(case_id: uuid.UUID, body: AttemptIn, request: Request, principal: PrincipalDep,
                  uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await casework.attempt(case_id, body, uow, principal, access, request)
        await uow.commit()
    return row


@router.post("/cases/{case_id}/stage", response_model=CaseOut,
             summary="段階を進める・休止・再開・終了 (reason codes)")
async def stage(case_id: uuid.UUID, body: StageIn, request: Request, principal: PrincipalDep,
                uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await casework.move(case_id, body.action, body.reason, uow, principal, access, request)
        await uow.commit()
    return row


@router.post("/cases/{case_id}/actions", response_model=CaseOut,
             summary="訪問・同行を記録する (home visit, accompaniment)")
async def action(case_id: uuid.UUID, body: ActionIn, request: Request, principal: PrincipalDep,
                 uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await casework.support_action(case_id, body, uow, principal, access, request)
        await uow.commit()
    return row


@router.post("/cases/{case_id}/handover", response_model=CaseOut,
             summary="引継ぎ先と共有する分野 (handed over when the person's consent covers it)")
async def handover(case_id: uuid.UUID, body: HandoverIn, request: Request, principal: PrincipalDep,
                   uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await casework.plan_handover(case_id, body, uow, principal, access, request)
        await uow.commit()
    return row
