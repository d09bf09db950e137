"""notifications' HTTP routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from kit.api import ConnDep, SettingsDep

from . import store

router = APIRouter(tags=["お知らせ inbox"])


class InboxItemOut(BaseModel):
    id: uuid.UUID
    recipient_id: str
    about_type: str
    about_id: uuid.UUID
    title: str
    body: str
    urgency: str
    created_at: AwareDatetime
    read_at: AwareDatetime | None


@router.get("/inbox/{recipient}", response_model=list[InboxItemOut], summary="受信箱")
async def inbox(recipient: str, conn: ConnDep, settings: SettingsDep,
                limit: int = Query(50, ge=1, le=200)) -> list[InboxItemOut]:
    rows = await store.for_recipient(conn, recipient, settings.municipality_code, limit)
    return [InboxItemOut.model_validate(r) for r in rows]
