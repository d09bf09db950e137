"""notifications' HTTP routes: each office reads its own inbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel

from kit import views
from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep
from kit.auth import PrincipalDep

from . import store
from .domain import AUDITORS

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
async def inbox(recipient: Annotated[str, Path(max_length=100)], principal: PrincipalDep,
                conn: ConnDep, settings: SettingsDep, access: AccessDep,
                limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    # Items carry no personal data, but what reaches an office is the office's business: its
    # staff, by the directory. The auditors' (break-glass reports) is for auditors among them.
    mine = (await views.workplace_of(conn, principal.user_id)).offices
    allowed = recipient in mine and (recipient != AUDITORS or principal.has("auditor"))
    await access.require(conn, principal, allowed, "read", "inbox", recipient,
                         "自分の所属の受信箱だけを見られます / you may read only your own office's inbox")
    items = await store.for_recipient(conn, recipient, settings.municipality_code, limit)
    await access.audit_only(conn, principal, "read", "inbox", recipient,
                            reason=f"the user's own office's inbox ({len(items)} items)")
    return items
