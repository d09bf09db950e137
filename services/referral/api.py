"""referral's HTTP routes; every read authorised and audited."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel

from contracts.taxonomy import DestinationKind, Urgency
from kit import views
from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep
from kit.auth import PrincipalDep
from kit.policy import Record
from kit.problems import Problem

from . import store

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


@router.get("/directory", summary="機関・窓口の名簿 (the directory: legal bodies, offices, who staffs them)")
async def directory(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                    access: AccessDep) -> dict[str, Any]:
    # Who staffs which office is for the people who work with it.
    await access.staff_only(conn, principal, "read", "directory")
    latest = await store.latest_directory(conn, settings.municipality_code)
    if latest is None:
        raise Problem(503, "Directory not loaded yet", "referral reads it at start; try again",
                      headers={"Retry-After": "5"})
    return {"revision": latest["revision"], **latest["body"]}


@router.get("/referrals", response_model=list[ReferralOut],
            summary="自機関あてのつなぎ一覧 (your own office's referrals)")
async def list_referrals(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                         access: AccessDep, agency: str = Query(min_length=1, max_length=100),
                         limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    mine = (await views.workplace_of(conn, principal.user_id)).offices
    await access.require(conn, principal, agency in mine and principal.is_staff,
                         "read", "referral_list", agency, "自分の所属（窓口）あての一覧だけを見られます / "
                         "you may list only your own office's referrals")
    rows = await store.for_agency(conn, agency, settings.municipality_code, limit)
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
