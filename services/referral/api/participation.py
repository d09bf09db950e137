"""Participation support (参加支援): start, needs profile, matching, placement, visits to the
host, stable. Reads are checked by the record policy; writes are the running office's."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Code, Id, Reason
from kit import views
from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep

from ..domain.resources import Area, Constraint, Mobility, NeedCode
from ..store import participation as store
from ..usecases import participation as usecases

router = APIRouter(tags=["参加支援 participation support"])


class StartIn(BaseModel):
    """Before a meeting decides it, a coordinator starts it for a person whose consent covers
    the coordinator's office."""

    model_config = ConfigDict(extra="forbid")
    person_id: uuid.UUID
    need_codes: list[NeedCode] = Field(min_length=1, max_length=7)
    office: Id | None = None  # needed only when the user staffs several coordinators' offices


class ProfileIn(BaseModel):
    """The needs profile (ニーズ票): personal data, kept in referral only."""

    model_config = ConfigDict(extra="forbid")
    need_codes: list[NeedCode] = Field(min_length=1, max_length=7)
    interests: list[Code] = Field([], max_length=20)
    constraints: list[Constraint] = Field([], max_length=3)
    hours_per_week: float = Field(ge=0, le=60)
    mobility: list[Mobility] = Field(min_length=1, max_length=5)
    area: Area | None = None
    wants: Reason = Field("", description="本人の言葉で（what the person wants, in their words）")


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resource_id: Id


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visited_on: date
    note: Reason = ""


@router.post("/participations", status_code=201,
             summary="参加支援を始める (a coordinator, before a meeting decides)")
async def start(body: StartIn, principal: PrincipalDep, uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        pid = await usecases.start(body.person_id, tuple(body.need_codes), body.office, uow,
                                   principal, access)
        await uow.commit()
    return {"id": pid}


@router.get("/participations", summary="自分の窓口が担う参加支援の一覧 (your own office's)")
async def for_office(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep, access: AccessDep,
                     office: str = Query(min_length=1, max_length=100),
                     limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    mine = (await views.workplace_of(conn, principal.user_id)).offices
    await access.require(conn, principal, office in mine and principal.is_staff, "read",
                         "participation_list", office, "自分の所属（窓口）が担う一覧だけを見られます / "
                         "you may list only your own office's participation support")
    rows = await store.for_office(conn, office, settings.municipality_code, limit)
    await access.audit_only(conn, principal, "read", "participation_list", office,
                            tuple(r["person_id"] for r in rows), reason="the user's own office")
    return rows


@router.get("/participations/{participation_id}",
            summary="参加支援を見る (profile, placements, follow-ups, visits)")
async def read(participation_id: uuid.UUID, request: Request, principal: PrincipalDep,
               conn: ConnDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    row = await store.get(conn, participation_id, settings.municipality_code)
    if row is None:
        raise usecases.not_found("Participation")
    await access.check(conn, request, principal, await usecases.record(conn, row, settings.municipality_code),
                       "read", "participation", str(participation_id))
    return row


@router.put("/participations/{participation_id}/profile", summary="ニーズ票を記録する")
async def profile(participation_id: uuid.UUID, body: ProfileIn, request: Request,
                  principal: PrincipalDep, uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        await usecases.set_profile(participation_id, body.model_dump(), uow, principal, access, request)
        await uow.commit()
    return {"id": participation_id, "profile": body.model_dump()}


@router.post("/participations/{participation_id}/match",
             summary="社会資源とマッチングする (ranked, with reasons; an unmet need is a resource gap)")
async def match(participation_id: uuid.UUID, request: Request, principal: PrincipalDep,
                uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        ranking = await usecases.match(participation_id, uow, principal, access, request)
        await uow.commit()
    return {"matches": [m.__dict__ for m in ranking.matches],
            "excluded": [e.__dict__ for e in ranking.excluded], "unmet_needs": list(ranking.unmet)}


@router.post("/participations/{participation_id}/placements", status_code=201,
             summary="受け入れ先につなぐ (consent must cover the host)")
async def place(participation_id: uuid.UUID, body: PlaceIn, request: Request,
                principal: PrincipalDep, uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        placement_id = await usecases.place(participation_id, body.resource_id, uow, principal,
                                            access, request)
        await uow.commit()
    return {"id": placement_id, "participation_id": participation_id}


@router.post("/placements/{placement_id}/visits", status_code=201, summary="受け入れ先への訪問を記録する")
async def visit(placement_id: uuid.UUID, body: VisitIn, request: Request, principal: PrincipalDep,
                uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        visit_id = await usecases.visit(placement_id, body.visited_on, body.note, uow, principal,
                                        access, request)
        await uow.commit()
    return {"id": visit_id, "placement_id": placement_id}


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Code = Field(description="why it ended (e.g. moved_on, stopped, host_ended)")


@router.post("/placements/{placement_id}/end", summary="受け入れを終える (its place is free again)")
async def end(placement_id: uuid.UUID, body: EndIn, request: Request, principal: PrincipalDep,
              uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        participation_id = await usecases.end(placement_id, body.reason, uow, principal, access,
                                              request)
        await uow.commit()
    return {"id": placement_id, "participation_id": participation_id, "ended": True}


@router.post("/placements/{placement_id}/stable", summary="定着した (follow-ups end)")
async def stable(placement_id: uuid.UUID, request: Request, principal: PrincipalDep, uow: UowDep,
                 access: AccessDep) -> dict[str, Any]:
    async with uow:
        participation_id = await usecases.stable(placement_id, uow, principal, access, request)
        await uow.commit()
    return {"id": placement_id, "participation_id": participation_id, "stable": True}
