"""What a member reads: the meeting, its decisions and its items' materials. The meeting's frame
is its members'; each item and each decision is shown as the rule of the body that tabled it
allows the reader (kit/policy.py on materials.item_record). Every read is on record."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import Request

from kit.access import Access, redact
from kit.policy import Decision
from kit.principal import Principal

from .. import bodies
from ..materials import PROTECTED, frame_record, item_record
from ..store import decisions as decided_store
from ..store import materials as items_store
from ..store import meetings as store
from .common import meeting, persons_of_items
from .materials import item_of


async def _shown(conn: asyncpg.Connection, principal: Principal, access: Access,
                 found: dict[str, Any], persons: frozenset[uuid.UUID]) -> bool:
    """Whether the item's (or decision's) rule lets this reader see it."""
    return (await access.decision(conn, principal, item_record(found, persons), "read",
                                  purpose="meeting")).permitted


async def view(meeting_id: uuid.UUID, conn: asyncpg.Connection, principal: Principal,
               access: Access, request: Request, municipality: str) -> dict[str, Any]:
    """The meeting as this member may see it: the items and decisions their rule shows them."""
    found = await meeting(conn, meeting_id, municipality)
    details = await store.details(conn, meeting_id)
    items = list(zip(details["agenda"], await persons_of_items(conn, details["agenda"]), strict=True))
    decision = await access.check(conn, request, principal,
                                  frame_record(found, frozenset().union(*(p for _, p in items))),
                                  "read", "meeting", str(meeting_id), purpose="meeting")
    agenda = [redact(a, decision, PROTECTED) for a, p in items
              if await _shown(conn, principal, access, found, p)]
    decided = [d for d in await decided_store.decisions(conn, meeting_id)
               if await _shown(conn, principal, access, found, d.pop("concerns"))]
    session = await store.session(conn, meeting_id)
    parts = await store.joint_parts(conn, found["joint_session"]) if found["joint_session"] else []
    return {**found, "body_label": bodies.BODIES[found["body"]].label,
            "joint_parts": [{**p, "body_label": bodies.BODIES[p["body"]].label} for p in parts],
            "members": details["members"], "agenda": agenda,
            "session": session and redact(session, decision, PROTECTED), "decisions": decided}


async def item_materials(item_id: uuid.UUID, conn: asyncpg.Connection, principal: Principal,
                         access: Access, request: Request, municipality: str) -> dict[str, Any]:
    """One item's materials and minutes, under its body's rule (refused on record otherwise)."""
    item, found, persons = await item_of(conn, item_id, municipality)
    decision = await access.check(conn, request, principal, item_record(found, persons), "read",
                                  "meeting_material", str(item_id), purpose="meeting")
    held = (await items_store.of_items(conn, [item_id]))[item_id]
    return _item(item, held, decision)


async def meeting_materials(meeting_id: uuid.UUID, conn: asyncpg.Connection, principal: Principal,
                            access: Access, request: Request, municipality: str) -> list[dict[str, Any]]:
    """The materials of each item of the meeting this member may see (each read on record)."""
    found = await meeting(conn, meeting_id, municipality)
    items = await items_store.items(conn, meeting_id)
    persons = await persons_of_items(conn, items)
    await access.check(conn, request, principal, frame_record(found, frozenset().union(*persons)),
                       "read", "meeting", str(meeting_id), purpose="meeting")
    held = await items_store.of_items(conn, [i["id"] for i in items])
    shown = []
    for item, concerned in zip(items, persons, strict=True):
        decision = await access.decision(conn, principal, item_record(found, concerned), "read",
                                         purpose="meeting")
        if decision.permitted:
            await access.audit_only(conn, principal, "read", "meeting_material", str(item["id"]),
                                    tuple(concerned), decision.reason, "meeting")
            shown.append(_item(item, held[item["id"]], decision))
    return shown


def _item(item: dict[str, Any], held: dict[str, Any], decision: Decision) -> dict[str, Any]:
    return {"item_id": item["id"], "meeting_id": item["meeting_id"], "presented_by": item["tabled_by"],
            "materials": [redact(m, decision, PROTECTED) for m in held["materials"]],
            "minutes": held["minutes"] and redact(held["minutes"], decision, PROTECTED)}
