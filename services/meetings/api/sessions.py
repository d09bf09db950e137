"""Routes: the session and the decisions (recorded by the chair; read by members as each
item's rule allows)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.problems import Problem

from ..commands import DecisionIn, HeldIn
from ..usecases import reads, sessions

router = APIRouter(tags=["支援会議・重層的支援会議"])


@router.post("/meetings/{meeting_id}/held", status_code=201, summary="開催を記録する (the chair)")
async def held(meeting_id: uuid.UUID, body: HeldIn, principal: PrincipalDep, uow: UowDep,
               access: AccessDep) -> dict[str, str]:
    async with uow:
        recorded = await sessions.held(meeting_id, body, uow, principal, access)
        await uow.commit()
    return recorded


@router.post("/meetings/{meeting_id}/decisions", status_code=201,
             summary="決定を記録する (the chair; final once recorded, corrected by a new decision)")
async def decide(meeting_id: uuid.UUID, body: DecisionIn, principal: PrincipalDep, uow: UowDep,
                 access: AccessDep) -> dict[str, Any]:
    async with uow:
        decided = await sessions.decide(meeting_id, body, uow, principal, access)
        await uow.commit()
    return decided


@router.get("/meetings/{meeting_id}/decisions", summary="決定の一覧 (members, as each item's rule allows)")
async def decisions(meeting_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
                    settings: SettingsDep, access: AccessDep) -> list[dict[str, Any]]:
    seen = await reads.view(meeting_id, conn, principal, access, request, settings.municipality_code)
    shown: list[dict[str, Any]] = seen["decisions"]
    return shown


@router.get("/meetings/{meeting_id}/decisions/{decision_id}", summary="決定を見る (the link a "
            "notification carries)")
async def decision(meeting_id: uuid.UUID, decision_id: uuid.UUID, request: Request,
                   principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                   access: AccessDep) -> dict[str, Any]:
    for d in await decisions(meeting_id, request, principal, conn, settings, access):
        if d["decision_id"] == str(decision_id):
            return d
    raise Problem(404, "Decision not found", type_="urn:tsunagu:problem:not-found")
