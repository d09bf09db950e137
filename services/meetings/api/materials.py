"""Routes: an agenda item's materials and minutes (issue 10). Written by members acting in the
meeting, read item by item under the rule of the body that tabled it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep

from ..commands import MaterialIn, MinutesIn
from ..usecases import materials, reads

router = APIRouter(tags=["会議資料・議事録"])


@router.post("/agenda-items/{item_id}/materials", status_code=201,
             summary="資料を出す (the chair or the item's presenting member; a pointer to a record)")
async def present(item_id: uuid.UUID, body: MaterialIn, request: Request, principal: PrincipalDep,
                  uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        material = await materials.present(item_id, body, uow, principal, access, request)
        await uow.commit()
    return material


@router.put("/agenda-items/{item_id}/minutes", summary="案件の議事録を記録する (the chair)")
async def minutes(item_id: uuid.UUID, body: MinutesIn, request: Request, principal: PrincipalDep,
                  uow: UowDep, access: AccessDep) -> dict[str, Any]:
    async with uow:
        recorded = await materials.record_minutes(item_id, body, uow, principal, access, request)
        await uow.commit()
    return recorded


@router.get("/agenda-items/{item_id}/materials", summary="案件の資料と議事録 (as its body's rule allows)")
async def item_materials(item_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
                         settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    return await reads.item_materials(item_id, conn, principal, access, request,
                                      settings.municipality_code)


@router.get("/meetings/{meeting_id}/materials",
            summary="会議の資料 (each item the reader's rule shows them; others left out)")
async def meeting_materials(meeting_id: uuid.UUID, request: Request, principal: PrincipalDep,
                            conn: ConnDep, settings: SettingsDep,
                            access: AccessDep) -> list[dict[str, Any]]:
    return await reads.meeting_materials(meeting_id, conn, principal, access, request,
                                         settings.municipality_code)
