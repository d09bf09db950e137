"""referral's HTTP routes; every read authorised and audited."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict

from contracts.bounds import Id
from contracts.taxonomy import DestinationKind, Urgency
from kit import views
from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.policy import Record
from kit.problems import Problem

from .. import domain, store, usecases

router = APIRouter(tags=["つなぎ referrals"])


class ReferralOut(BaseModel):
    id: uuid.UUID
    consultation_id: uuid.UUID
    destination_kind: DestinationKind
    to_agency: str
    from_division: str
    categories: list[str]
    urgency: Urgency
    status: str
    requested_at: AwareDatetime
    person_ids: list[uuid.UUID]
    reason: str | None = None
    referred_by: str | None = None
    decline_reason: str | None = None
    outcome: str | None = None
    escalated_from: uuid.UUID | None = None
    changed_at: AwareDatetime | None = None
    answer_due_at: AwareDatetime | None = None  # answer by (the city's working days)
    overdue_at: AwareDatetime | None = None
    follow_up_due_at: AwareDatetime | None = None
    follow_up_at: AwareDatetime | None = None


class ReferralIn(BaseModel):
    """A referral of a consultation already recorded: nothing is typed again."""

    model_config = ConfigDict(extra="forbid")

    consultation_id: uuid.UUID
    to_office: Id
    reason: domain.Reason
    from_office: Id | None = None  # needed only when the user staffs several holding offices
    escalated_from: uuid.UUID | None = None  # the referral that reached the referrer (a promoter's inbox)


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: domain.DeclineReason


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: domain.Outcome | None = None  # not known yet: recorded later, or followed up


@router.get("/directory", summary="機関・窓口の名簿 (the directory: legal bodies, offices, who staffs them)",
            response_model=dict[str, Any])
async def directory(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                    access: AccessDep) -> Response:
    # Who staffs which office is for the people who work with it.
    await access.staff_only(conn, principal, "read", "directory")
    body = await store.directory_json(conn, settings.municipality_code)
    if body is None:
        raise Problem(503, "Directory not loaded yet", "referral reads it at start; try again",
                      headers={"Retry-After": "5"})
    # The stored JSON as PostgreSQL writes it: decoded and encoded again here (FastAPI's
    # jsonable_encoder), 4,800 offices held referral's event loop ~130 ms per request.
    return Response(body, media_type="application/json")


@router.get("/referrals", response_model=list[ReferralOut],
            summary="自機関あてのつなぎ一覧 (your own office's referrals)")
async def list_referrals(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                         access: AccessDep, agency: str = Query(min_length=1, max_length=100),
                         sent: bool = Query(False, description="the ones this office made"),
                         limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    mine = (await views.workplace_of(conn, principal.user_id)).offices
    await access.require(conn, principal, agency in mine and principal.is_staff,
                         "read", "referral_list", agency, "自分の所属（窓口）あての一覧だけを見られます / "
                         "you may list only your own office's referrals")
    rows = await store.for_agency(conn, agency, settings.municipality_code, limit, sent)
    await access.audit_only(conn, principal, "read", "referral_list", agency,
                            tuple({p for r in rows for p in r["person_ids"]}),
                            reason="the user's own office")
    return rows


@router.get("/referrals/{referral_id}", response_model=ReferralOut, summary="つなぎを見る")
async def get_referral(referral_id: uuid.UUID, request: Request, principal: PrincipalDep,
                       conn: ConnDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    row = await store.get(conn, referral_id, settings.municipality_code)
    if row is None:
        raise Problem(404, "Referral not found", type_="urn:tsunagu:problem:not-found")
    record = Record(municipality=settings.municipality_code,
                    holders=frozenset({row["to_agency"], row["from_division"]}),
                    person_ids=frozenset(row["person_ids"]),
                    meeting_ids=await views.tabled_in(conn, [row["consultation_id"], *row["person_ids"]]))
    await access.check(conn, request, principal, record, "read", "referral", str(referral_id))
    return row


@router.post("/referrals", response_model=ReferralOut, status_code=201,
             summary="相談をつなぐ (refer a consultation to an office; consent must cover it)")
async def refer(body: ReferralIn, request: Request, principal: PrincipalDep, uow: UowDep,
                access: AccessDep) -> dict[str, Any]:
    async with uow:
        row = await usecases.refer(body.consultation_id, body.to_office, body.reason,
                                   body.from_office, body.escalated_from, uow, principal, access, request)
        await uow.commit()
    return row


async def _move(referral_id: uuid.UUID, action: domain.Action, principal: PrincipalDep,
                uow: UowDep, access: AccessDep, **answer: Any) -> dict[str, Any]:
    async with uow:
        row = await usecases.move(referral_id, action, uow, principal, access, **answer)
        await uow.commit()
    return row


@router.post("/referrals/{referral_id}/accept", response_model=ReferralOut, summary="受理する")
async def accept(referral_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                 access: AccessDep) -> dict[str, Any]:
    return await _move(referral_id, "accept", principal, uow, access)


@router.post("/referrals/{referral_id}/decline", response_model=ReferralOut, summary="辞退する（理由を選ぶ）")
async def decline(referral_id: uuid.UUID, body: DeclineIn, principal: PrincipalDep, uow: UowDep,
                  access: AccessDep) -> dict[str, Any]:
    return await _move(referral_id, "decline", principal, uow, access, decline_reason=body.reason)


@router.post("/referrals/{referral_id}/start", response_model=ReferralOut, summary="支援を始める")
async def start(referral_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                access: AccessDep) -> dict[str, Any]:
    return await _move(referral_id, "start", principal, uow, access)


@router.post("/referrals/{referral_id}/complete", response_model=ReferralOut, summary="完了（結果を選ぶ）")
async def complete(referral_id: uuid.UUID, body: CompleteIn, principal: PrincipalDep, uow: UowDep,
                   access: AccessDep) -> dict[str, Any]:
    return await _move(referral_id, "complete", principal, uow, access, outcome=body.outcome)


@router.post("/referrals/{referral_id}/withdraw", response_model=ReferralOut,
             summary="取り下げる（つないだ側）")
async def withdraw(referral_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                   access: AccessDep) -> dict[str, Any]:
    return await _move(referral_id, "withdraw", principal, uow, access)
