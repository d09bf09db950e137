"""referral's HTTP routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from contracts.taxonomy import DestinationKind, Urgency
from kit.api import ConnDep, SettingsDep
from kit.problems import Problem

from . import store

router = APIRouter(tags=["つなぎ referrals"])


class ReferralOut(BaseModel):
    id: uuid.UUID
    consultation_id: uuid.UUID
    destination_kind: DestinationKind
    to_agency: str
    categories: list[str]
    urgency: Urgency
    status: str
    requested_at: AwareDatetime


@router.get("/referrals", response_model=list[ReferralOut], summary="機関あてのつなぎ一覧")
async def list_referrals(conn: ConnDep, settings: SettingsDep,
                         agency: str = Query(min_length=1, max_length=100),
                         limit: int = Query(50, ge=1, le=200)) -> list[ReferralOut]:
    rows = await store.for_agency(conn, agency, settings.municipality_code, limit)
    return [ReferralOut.model_validate(r) for r in rows]


@router.get("/referrals/{referral_id}", response_model=ReferralOut, summary="つなぎを見る")
async def get_referral(referral_id: uuid.UUID, conn: ConnDep, settings: SettingsDep) -> ReferralOut:
    row = await store.get(conn, referral_id, settings.municipality_code)
    if row is None:
        raise Problem(404, "Referral not found", type_="urn:tsunagu:problem:not-found")
    return ReferralOut.model_validate(row)
