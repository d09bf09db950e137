"""plans's reads: a plan, each of its versions, its progress notes. Whoever the policy lets read
the case reads them (holders, offices the person's consent covers, break-glass); an office
outside the consent reads nothing new from the moment the consent stops covering it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg
from fastapi import APIRouter, Query, Request

from kit.access import Access, AccessDep
from kit.api import ConnDep, SettingsDep
from kit.auth import PrincipalDep
from kit.policy import Decision
from kit.principal import Principal

from . import ledger_store, store, usecases

router = APIRouter(tags=["アセスメント・プラン・伴走支援"])


async def readable(conn: asyncpg.Connection, request: Request, principal: Principal, access: Access,
                   municipality: str, person_ids: Iterable[uuid.UUID], office: str | None,
                   object_type: str, object_id: uuid.UUID,
                   field_classes: frozenset[str] = frozenset()) -> Decision:
    record = await usecases.case_record(conn, municipality, frozenset(person_ids), office,
                                        field_classes=field_classes)
    return await access.check(conn, request, principal, record, "read", object_type, str(object_id))


async def plan_out(conn: asyncpg.Connection, plan_id: uuid.UUID, municipality: str) -> dict[str, Any]:
    row = await store.plan_row(conn, plan_id, municipality)
    assert row is not None
    vs = await store.versions(conn, plan_id)
    plan = store.plan_of(row, vs)
    by_version = {v["version"]: v for v in vs}
    return {"id": plan_id, "person_ids": row["person_ids"], "office": row["office"],
            "status": plan.status, "latest_version": plan.latest, "version_in_force": plan.in_force,
            "lead_agency": row["lead_agency"], "lead_worker": row["lead_worker"], "team": row["team"],
            "content": by_version[plan.in_force or plan.latest]["content"],
            "versions": [{"version": v["version"], "written_at": v["written_at"],
                          "approved_at": v["approved_at"], "decision_id": v["decision_id"]} for v in vs],
            "evaluation": row["evaluation"], "evaluation_why": row["evaluation_why"],
            "closed_by": row["closed_by"], "closed_at": row["closed_at"],
            "timers": await ledger_store.timers(conn, plan_id)}


async def _readable_plan(plan_id: uuid.UUID, request: Request, principal: Principal,
                         conn: asyncpg.Connection, municipality: str, access: Access,
                         object_type: str) -> dict[str, Any]:
    row = await store.plan_row(conn, plan_id, municipality)
    if row is None:
        raise usecases.not_found("Plan")
    await readable(conn, request, principal, access, municipality, row["person_ids"], row["office"],
                   object_type, plan_id)
    return row


@router.get("/plans/{plan_id}", summary="プランを見る (the version in force, and every version's state)")
async def get_plan(plan_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
                   settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    await _readable_plan(plan_id, request, principal, conn, settings.municipality_code, access, "plan")
    return await plan_out(conn, plan_id, settings.municipality_code)


@router.get("/plans/{plan_id}/versions/{version}", summary="プランの版を見る")
async def get_version(plan_id: uuid.UUID, version: int, request: Request, principal: PrincipalDep,
                      conn: ConnDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    await _readable_plan(plan_id, request, principal, conn, settings.municipality_code, access, "plan")
    found = [v for v in await store.versions(conn, plan_id) if v["version"] == version]
    if not found:
        raise usecases.not_found("Plan version")
    return found[0]


@router.get("/plans/{plan_id}/notes", summary="経過記録を見る")
async def notes(plan_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
                settings: SettingsDep, access: AccessDep,
                limit: int = Query(200, ge=1, le=500)) -> list[dict[str, Any]]:
    await _readable_plan(plan_id, request, principal, conn, settings.municipality_code, access,
                         "progress_note")
    return await store.entries(conn, plan_id, limit)
