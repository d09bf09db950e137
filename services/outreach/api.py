"""outreach's HTTP routes for partners: their agreements, their reports, and the one thing a
partner reads back (its own report's acknowledgement). Cases are in api_cases.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.bounds import Address, Code, Id, Instant, Name, Reason
from contracts.taxonomy import Urgency
from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.clock import now

from . import store
from .domain.reports import Agreement
from .usecases import common, reporting

router = APIRouter(tags=["アウトリーチ等を通じた継続的支援"])


class AgreementIn(BaseModel):
    """見守り協定: since when, and what the partner may report (concern codes)."""

    model_config = ConfigDict(extra="forbid")
    office_id: Id
    since: date
    until: date | None = None
    may_report: list[Code] = Field(min_length=1, max_length=20)


class ConcernIn(BaseModel):
    """What a partner saw, about an address or a person (at least one)."""

    model_config = ConfigDict(extra="forbid")
    address: Address | None = None
    person_name: Name | None = Field(None, description="as the partner knows them")
    seen: list[Code] = Field(min_length=1, max_length=10)
    note: Reason | None = Field(None, max_length=500, description="bounded free text")
    seen_at: Instant | None = None
    urgency: Urgency = "normal"


class Acknowledgement(BaseModel):
    """All a partner reads back: its report arrived, and whether someone is looking at it."""

    id: uuid.UUID
    status: Literal["received", "being_looked_at"]
    received_at: AwareDatetime


class ConcernOut(BaseModel):
    id: uuid.UUID
    partner_office: str
    person_name: str | None
    address: str | None
    subject_kind: str
    seen: list[str]
    note: str | None
    seen_at: AwareDatetime
    urgency: Urgency
    reported_at: AwareDatetime
    status: str


@router.put("/partners/{user_id}", status_code=204,
            summary="見守り協定を登録する (the coordinators register a partner's agreement)")
async def register_partner(user_id: Id, body: AgreementIn, principal: PrincipalDep, uow: UowDep,
                           access: AccessDep) -> None:
    async with uow:
        await reporting.register_partner(Agreement(user_id, body.office_id, body.since,
                                                  frozenset(body.may_report), body.until),
                                        uow, principal, access)
        await uow.commit()


@router.post("/concerns", status_code=201, response_model=Acknowledgement,
             summary="気づきを連絡する (a partner reports a concern)")
async def report_concern(body: ConcernIn, principal: PrincipalDep, uow: UowDep,
                         access: AccessDep) -> dict[str, Any]:
    async with uow:
        ack = await reporting.report_concern(body, uow, principal, access)
        await uow.commit()
    return ack


@router.get("/concerns/{report_id}/status", response_model=Acknowledgement,
            summary="連絡の受付状況 (the reporting partner only: received / being looked at)")
async def concern_status(report_id: uuid.UUID, principal: PrincipalDep, conn: ConnDep,
                         settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    row = await store.report(conn, settings.municipality_code, report_id)
    await access.require(conn, principal, row is not None and row["reported_by"] == principal.user_id,
                         "read", "concern_report_status", str(report_id),
                         "自分が送った連絡の受付状況だけを見られます / only the partner who sent a "
                         "report reads its status")
    assert row is not None
    await access.audit_only(conn, principal, "read", "concern_report_status", str(report_id),
                            reason="the reporting partner")
    return {"id": row["id"], "status": row["status"], "received_at": row["reported_at"]}


@router.get("/concerns/{report_id}", response_model=ConcernOut,
            summary="気づきの連絡を見る (the coordinators' office)")
async def get_concern(report_id: uuid.UUID, request: Request, principal: PrincipalDep,
                      uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:  # reading it moves the partner's acknowledgement on: a write too
        await access.check(uow, request, principal, common.report_record(uow.municipality),
                           "read", "concern_report", str(report_id))
        row = await store.report(uow.conn, uow.municipality, report_id)
        if row is None:
            raise common.not_found("Report")
        await store.look_at(uow.conn, uow.municipality, [report_id], now())
        await uow.commit()
    return row


class AlertOut(BaseModel):
    id: uuid.UUID
    raised_at: AwareDatetime
    report_ids: list[uuid.UUID]


@router.get("/alerts/{alert_id}", response_model=AlertOut,
            summary="重なった気づき (the coordinators' office; its reports: GET /concerns/{id})")
async def get_alert(alert_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
                    settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    await access.check(conn, request, principal, common.report_record(m), "read",
                       "weak_signal_alert", str(alert_id))
    row = await store.alert(conn, m, alert_id)
    if row is None:
        raise common.not_found("Alert")
    return row
