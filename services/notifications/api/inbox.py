"""Inboxes: a user reads their own; an office's is read by its staff (the directory says who).

Items carry no personal data, but what reaches an office or a user is theirs alone; every read
and every read mark is on record.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime, BaseModel

from contracts.bounds import Id
from kit import views
from kit.access import Access, AccessDep, Db
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.clock import now
from kit.principal import Principal
from kit.problems import Problem

from .. import store
from ..domain import AUDITORS
from ..email import store as email_store

router = APIRouter(tags=["お知らせ inbox"])
Office = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]
_NOT_YOURS = "自分の所属の受信箱だけを見られます / you may read only your own office's inbox"


class InboxItemOut(BaseModel):
    id: uuid.UUID
    recipient_kind: str
    recipient_id: str
    kind: str  # the event type
    about_type: str
    about_id: uuid.UUID
    title: str
    body: str
    link: str
    urgency: str
    created_at: AwareDatetime
    read_at: AwareDatetime | None


class Marked(BaseModel):
    marked: int


class Filters:
    """unread only, kinds of event, a bounded page."""

    def __init__(self, unread: bool = False,
                 kind: Annotated[list[Id] | None, Query(max_length=20)] = None,
                 limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=10_000)):
        self.unread, self.kinds, self.limit, self.offset = unread, list(kind or ()), limit, offset


async def _office_staff(db: Db, conn: Any, access: Access, principal: Principal, office: str,
                        action: str) -> None:
    mine = (await views.workplace_of(conn, principal.user_id)).offices
    # The auditors' inbox (break-glass reports) is for auditors among its staff.
    allowed = office in mine and (office != AUDITORS or principal.has("auditor"))
    await access.require(db, principal, allowed, action, "inbox", office, _NOT_YOURS)  # type: ignore[arg-type]


async def _list(conn: Any, access: Access, principal: Principal, municipality: str, kind: str,
                recipient: str, f: Filters, response: Response) -> list[dict[str, Any]]:
    items = await store.listing(conn, municipality, kind, recipient, f.unread, f.kinds, f.limit, f.offset)
    response.headers["X-Unread-Count"] = str(await store.unread(conn, municipality, kind, recipient))
    await access.audit_only(conn, principal, "read", "inbox", f"{kind}:{recipient}",
                            reason=f"the user's own {kind} inbox ({len(items)} items)")
    return items


@router.get("/me/inbox", response_model=list[InboxItemOut], summary="自分の受信箱")
async def my_inbox(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep, access: AccessDep,
                   response: Response, f: Annotated[Filters, Depends()]) -> list[dict[str, Any]]:
    return await _list(conn, access, principal, settings.municipality_code, "user",
                       principal.user_id, f, response)


@router.get("/inbox/{office}", response_model=list[InboxItemOut], summary="所属の受信箱")
async def office_inbox(office: Office, principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                       access: AccessDep, response: Response,
                       f: Annotated[Filters, Depends()]) -> list[dict[str, Any]]:
    await _office_staff(conn, conn, access, principal, office, "read")
    return await _list(conn, access, principal, settings.municipality_code, "office", office, f, response)


async def _mark(uow: Any, access: Access, principal: Principal, municipality: str, kind: str,
                recipient: str, item_id: uuid.UUID | None) -> dict[str, int]:
    marked = await store.mark_read(uow.conn, municipality, kind, recipient, item_id, now())
    if item_id is not None and not marked:
        raise Problem(404, "Not Found", "その通知はありません / no such item in this inbox")
    await access.audit_only(uow, principal, "write", "inbox", f"{kind}:{recipient}",
                            reason=f"marked {marked} item(s) read")
    await uow.commit()
    return {"marked": marked}


@router.post("/me/inbox/read", response_model=Marked, summary="自分の受信箱をすべて既読にする")
async def my_all_read(principal: PrincipalDep, uow: UowDep, settings: SettingsDep,
                      access: AccessDep) -> dict[str, int]:
    async with uow:
        return await _mark(uow, access, principal, settings.municipality_code, "user",
                           principal.user_id, None)


@router.post("/me/inbox/{item_id}/read", response_model=Marked, summary="既読にする")
async def my_item_read(item_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                       settings: SettingsDep, access: AccessDep) -> dict[str, int]:
    async with uow:
        return await _mark(uow, access, principal, settings.municipality_code, "user",
                           principal.user_id, item_id)


@router.post("/inbox/{office}/read", response_model=Marked, summary="所属の受信箱をすべて既読にする")
async def office_all_read(office: Office, principal: PrincipalDep, uow: UowDep,
                          settings: SettingsDep, access: AccessDep) -> dict[str, int]:
    async with uow:
        await _office_staff(uow, uow.conn, access, principal, office, "write")
        return await _mark(uow, access, principal, settings.municipality_code, "office", office, None)


@router.post("/inbox/{office}/{item_id}/read", response_model=Marked, summary="既読にする")
async def office_item_read(office: Office, item_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                           settings: SettingsDep, access: AccessDep) -> dict[str, int]:
    async with uow:
        await _office_staff(uow, uow.conn, access, principal, office, "write")
        return await _mark(uow, access, principal, settings.municipality_code, "office", office, item_id)


class Digest(BaseModel):
    enabled: bool  # a daily e-mail, on working days, counting one's unread items


@router.get("/me/digest", response_model=Digest, summary="日次まとめメールの設定")
async def my_digest(principal: PrincipalDep, conn: ConnDep, access: AccessDep) -> dict[str, bool]:
    await access.audit_only(conn, principal, "read", "digest", principal.user_id, reason="the user's own")
    return {"enabled": await email_store.digest_enabled(conn, principal.user_id)}


@router.put("/me/digest", response_model=Digest, summary="日次まとめメールを受け取る・やめる")
async def set_my_digest(body: Digest, principal: PrincipalDep, uow: UowDep, settings: SettingsDep,
                        access: AccessDep) -> dict[str, bool]:
    async with uow:
        await email_store.set_digest(uow.conn, principal.user_id, settings.municipality_code,
                                     body.enabled, now())
        await access.audit_only(uow, principal, "write", "digest", principal.user_id,
                                reason="the user's own")
        await uow.commit()
    return {"enabled": body.enabled}
