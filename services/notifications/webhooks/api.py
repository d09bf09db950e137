"""The operators' webhook API: register subscribers, rotate their secrets, follow every
delivery and attempt, replay what was parked. Operators only; every call on record."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Ids
from kit.access import Access, AccessDep, Db
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.clock import now
from kit.principal import Principal
from kit.problems import Problem

from ..handlers import RULES, SETTINGS
from . import routing, secrets, signing, store

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
_OPERATORS = "運用担当だけが扱えます / operators only"
Status = Literal["pending", "delivered", "parked"]


class SubscriberIn(BaseModel):
    url: str = Field(min_length=8, max_length=500)
    event_types: Ids = Field(min_length=1)
    support_meeting_member: bool = Field(False, description="支援会議の構成員である機関として届け出済み")


class SubscriberOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    support_meeting_member: bool
    created_by: str
    created_at: AwareDatetime
    rotating: bool  # two secrets sign until the previous one is retired


class Issued(SubscriberOut):
    secret: str  # shown once


class Secret(BaseModel):
    secret: str


class DeliveryOut(BaseModel):
    id: uuid.UUID
    subscriber_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Status
    failures: int
    attempts: int
    next_attempt_at: AwareDatetime
    last_error: str | None
    created_at: AwareDatetime
    delivered_at: AwareDatetime | None


class Attempt(BaseModel):
    n: int
    at: AwareDatetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryDetail(DeliveryOut):
    attempt_log: list[Attempt]


async def _operator(db: Db, access: Access, principal: Principal, action: str, what: str,
                    object_id: str | None) -> None:
    await access.require(db, principal, principal.has("operator"), action, what, object_id,  # type: ignore[arg-type]
                         _OPERATORS)
    await access.audit_only(db, principal, action, what, object_id, reason="operator")  # type: ignore[arg-type]


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
        literal = True
    except ValueError:
        loopback, literal = host == "localhost", False
    if loopback and SETTINGS.webhook_allow_loopback and parts.scheme in ("http", "https"):
        return url
    if parts.scheme != "https" or not host or literal or loopback:
        raise Problem(422, "Unprocessable Content",
                      "URL は https で名前のあるホストにしてください / the URL must be https to a named host")
    return url


@router.post("/subscribers", status_code=201, response_model=Issued, summary="連携先を登録する")
async def register(body: SubscriberIn, principal: PrincipalDep, uow: UowDep, settings: SettingsDep,
                   access: AccessDep) -> dict[str, Any]:
    async with uow:
        await _operator(uow, access, principal, "write", "webhook_subscriber", None)
        refused = routing.refused_types(list(body.event_types), set(RULES), body.support_meeting_member)
        if refused:
            raise Problem(422, "Unprocessable Content",
                          "受け取れない種類です（支援会議の情報は構成員機関だけ） / not offered, or 支援会議 "
                          f"material for a body not declared a member: {', '.join(refused)}")
        secret, sid = signing.new_secret(), uuid.uuid4()
        row = await store.add_subscriber(uow.conn, settings.municipality_code, sid,
                                         _checked_url(body.url), list(dict.fromkeys(body.event_types)),
                                         body.support_meeting_member, secrets.seal(sid, secret),
                                         principal.user_id, now())
        await uow.commit()
    return {**row, "secret": secret}


@router.get("/subscribers", response_model=list[SubscriberOut], summary="連携先の一覧")
async def subscribers(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                      access: AccessDep) -> list[dict[str, Any]]:
    await _operator(conn, access, principal, "read", "webhook_subscriber", None)
    return await store.subscribers(conn, settings.municipality_code)


@router.post("/subscribers/{subscriber_id}/secret", response_model=Secret,
             summary="署名鍵を更新する（旧鍵も廃止まで署名）")
async def rotate(subscriber_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                 settings: SettingsDep, access: AccessDep) -> dict[str, str]:
    secret = signing.new_secret()
    async with uow:
        await _operator(uow, access, principal, "write", "webhook_subscriber", str(subscriber_id))
        if not await store.rotate(uow.conn, settings.municipality_code, subscriber_id,
                                  secrets.seal(subscriber_id, secret)):
            raise Problem(404, "Not Found", "連携先がありません / no such subscriber")
        await uow.commit()
    return {"secret": secret}


@router.delete("/subscribers/{subscriber_id}/previous-secret", status_code=204,
               summary="旧署名鍵を廃止する")
async def retire(subscriber_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                 settings: SettingsDep, access: AccessDep) -> None:
    async with uow:
        await _operator(uow, access, principal, "write", "webhook_subscriber", str(subscriber_id))
        if not await store.rotate(uow.conn, settings.municipality_code, subscriber_id, None):
            raise Problem(404, "Not Found", "連携先がありません / no such subscriber")
        await uow.commit()


@router.get("/deliveries", response_model=list[DeliveryOut], summary="配信の状況（parked: 保留中）")
async def deliveries(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                     access: AccessDep, subscriber_id: uuid.UUID | None = None,
                     status: Status | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     offset: Annotated[int, Query(ge=0, le=10_000)] = 0) -> list[dict[str, Any]]:
    await _operator(conn, access, principal, "read", "webhook_delivery", None)
    return await store.deliveries(conn, settings.municipality_code, subscriber_id, status, limit, offset)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="配信と各試行")
async def delivery(delivery_id: uuid.UUID, principal: PrincipalDep, conn: ConnDep,
                   settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    await _operator(conn, access, principal, "read", "webhook_delivery", str(delivery_id))
    found = await store.delivery(conn, settings.municipality_code, delivery_id)
    if found is None:
        raise Problem(404, "Not Found", "配信がありません / no such delivery")
    return found


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryOut,
             summary="保留中の配信を再送する")
async def replay(delivery_id: uuid.UUID, principal: PrincipalDep, uow: UowDep,
                 settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    async with uow:
        await _operator(uow, access, principal, "write", "webhook_delivery", str(delivery_id))
        if not await store.replay(uow.conn, m, delivery_id, now()):
            raise Problem(409, "Conflict", "保留中の配信ではありません / not a parked delivery")
        found = await store.delivery(uow.conn, m, delivery_id)
        await uow.commit()
    return found or {}
