"""Routes: schedule a meeting, add its members, table its items; read it (members)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep

from ..commands import AgendaIn, MeetingIn, MeetingOut, MemberIn
from ..usecases import meetings, reads

router = APIRouter(tags=["支援会議・重層的支援会議"])


@router.post("/meetings", status_code=201, response_model=MeetingOut, summary="会議を設定する")
async def schedule(body: MeetingIn, principal: PrincipalDep, uow: UowDep,
                   access: AccessDep) -> dict[str, Any]:
    async with uow:
        scheduled = await meetings.schedule(body, uow, principal, access)
        await uow.commit()
    return scheduled


@router.post("/meetings/{meeting_id}/members", status_code=201,
             summary="構成員を加える (the meeting's chair only)")
async def add_member(meeting_id: uuid.UUID, body: MemberIn, principal: PrincipalDep, uow: UowDep,
                     access: AccessDep) -> dict[str, str]:
    async with uow:
        joined = await meetings.add_member(meeting_id, body, uow, principal, access)
        await uow.commit()
    return joined


@router.post("/meetings/{meeting_id}/agenda", status_code=201,
             summary="事例を付議する (a member who holds what is tabled; its presenting member)")
async def table(meeting_id: uuid.UUID, body: AgendaIn, request: Request, principal: PrincipalDep,
                uow: UowDep, access: AccessDep) -> dict[str, str]:
    async with uow:
        tabled = await meetings.table(meeting_id, body, uow, principal, access, request)
        await uow.commit()
    return tabled


@router.get("/meetings/{meeting_id}", response_model=MeetingOut, summary="会議を見る (members)")
async def get(meeting_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
              settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    return await reads.view(meeting_id, conn, principal, access, request, settings.municipality_code)
