"""An item's materials and minutes: written by members acting in the meeting (its chair, or the
member who presented the item), as the item's body's rule allows."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import Request

from kit.access import Access
from kit.clock import now
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from .. import materials
from ..commands import MaterialIn, MinutesIn
from ..domain import MeetingRuleBroken
from ..store import materials as store
from .common import chair_only, meeting, persons_of_items, refused


async def item_of(conn: asyncpg.Connection, item_id: uuid.UUID, municipality: str
                  ) -> tuple[dict[str, Any], dict[str, Any], frozenset[uuid.UUID]]:
    """The item, its meeting and the persons it concerns."""
    item = await store.item(conn, item_id, municipality)
    if item is None:
        raise Problem(404, "Agenda item not found", type_="urn:tsunagu:problem:not-found")
    [persons] = await persons_of_items(conn, [item])
    return item, await meeting(conn, item["meeting_id"], municipality), persons


async def present(item_id: uuid.UUID, command: MaterialIn, uow: UnitOfWork, principal: Principal,
                  access: Access, request: Request) -> dict[str, Any]:
    item, found, persons = await item_of(uow.conn, item_id, uow.municipality)
    await access.require(uow, principal, principal.user_id in materials.presenters(found, item),
                         "write", "meeting_material", str(item_id), PRESENTERS_ONLY)
    await access.check(uow, request, principal, materials.item_record(found, persons),
                       "write", "meeting_material", str(item_id), purpose="meeting")
    try:
        material, events = materials.present(item, command.model_dump(), principal.user_id, now())
    except MeetingRuleBroken as exc:
        raise refused(exc) from exc
    await store.add(uow.conn, material)
    uow.record(*events)
    return material


async def record_minutes(item_id: uuid.UUID, command: MinutesIn, uow: UnitOfWork,
                         principal: Principal, access: Access, request: Request) -> dict[str, Any]:
    item, found, persons = await item_of(uow.conn, item_id, uow.municipality)
    await chair_only(uow, access, principal, found, "meeting_minutes")
    await access.check(uow, request, principal, materials.item_record(found, persons),
                       "write", "meeting_minutes", str(item_id), purpose="meeting")
    try:
        minutes, events = materials.minutes(item, command.minutes, principal.user_id, now())
    except MeetingRuleBroken as exc:
        raise refused(exc) from exc
    await store.set_minutes(uow.conn, minutes)
    uow.record(*events)
    return minutes


PRESENTERS_ONLY = ("資料を出せるのはこの会議の議長と、この案件を付議した構成員だけです / only the "
                   "meeting's chair and the member who presented this item add its materials")
