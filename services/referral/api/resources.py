"""Community resources of the directory: search (bounded, throttled, audited), one resource, its
capacity (its host office's to say), and the Open Referral HSDS 3 export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from kit.access import AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.problems import Problem

from ..domain import hsds
from ..domain.resources import Area, Capacity, NeedCode, ResourceIn, search
from ..usecases import participation as usecases

router = APIRouter(tags=["社会資源 community resources"])
SEARCHES_PER_MINUTE = 60  # per user: a worker's searches, not a crawler's
MAX_PAGE, MAX_OFFSET = 50, 1000


class CapacityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    available: int = Field(ge=0, le=10000)
    maximum: int | None = Field(None, ge=0, le=10000)  # unchanged when absent


def _shown(r: ResourceIn, c: Capacity) -> dict[str, Any]:
    return {**r.model_dump(mode="json"), "capacity": {"available": c.available, "maximum": c.maximum,
                                                     "updated_at": c.updated_at.isoformat()}}


@router.get("/resources", summary="社会資源を探す (by need, area and availability; bounded and audited)")
async def find(principal: PrincipalDep, uow: UowDep, access: AccessDep,
               need: list[NeedCode] = Query([], max_length=7, description="ニーズ（いずれか）"),
               area: Area | None = Query(None, description="地区（市内全域の資源も含む）"),
               available: bool = Query(False, description="空きのあるものだけ"),
               limit: int = Query(20, ge=1, le=MAX_PAGE),
               offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> dict[str, Any]:
    async with uow:
        await access.staff_only(uow, principal, "search", "resources")
        if not need and area is None:
            raise Problem(422, "Query too broad", "ニーズか地区を指定してください / name a need or an "
                          "area (the HSDS export lists everything)")
        await access.throttle(uow, principal, "search", "resources", SEARCHES_PER_MINUTE, 60)
        file, capacities = await usecases.directory(uow.conn, uow.municipality)
        found = search(file.resources, capacities, frozenset(need), area, available)
        await access.audit_only(uow, principal, "search", "resources", None,
                                reason=f"need={','.join(need)} area={area} available={available}")
        await uow.commit()
    return {"total": len(found), "limit": limit, "offset": offset,
            "items": [_shown(r, capacities[r.id]) for r in found[offset:offset + limit]]}


@router.get("/resources/{resource_id}", summary="社会資源を見る (labels, location, contact, capacity)")
async def one(resource_id: str, principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
              access: AccessDep) -> dict[str, Any]:
    await access.staff_only(conn, principal, "read", "resource", resource_id[:100])
    file, capacities = await usecases.directory(conn, settings.municipality_code)
    r = file.resource(resource_id)
    if r is None:
        raise usecases.not_found("Resource")
    return _shown(r, capacities[r.id])


@router.post("/resources/{resource_id}/capacity",
             summary="空き状況を更新する (the resource's host office only)")
async def capacity(resource_id: str, body: CapacityIn, principal: PrincipalDep, uow: UowDep,
                   access: AccessDep) -> dict[str, Any]:
    async with uow:
        c = await usecases.set_capacity(resource_id[:100], body.available, body.maximum, uow,
                                        principal, access)
        await uow.commit()
    return {"resource_id": resource_id, "available": c.available, "maximum": c.maximum,
            "updated_at": c.updated_at}


@router.get("/hsds/services", summary="HSDS 3 形式の書き出し (Open Referral HSDS 3.1 services, one page)")
async def hsds_export(principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                      access: AccessDep) -> dict[str, Any]:
    await access.staff_only(conn, principal, "export", "hsds_services")
    file, capacities = await usecases.directory(conn, settings.municipality_code)
    offices = {o.id: o.legal_body for o in file.offices}
    bodies = {b.id: b.label for b in file.legal_bodies}
    services = [hsds.service(r, offices[r.host_office], bodies[offices[r.host_office]],
                             capacities[r.id]) for r in file.resources]
    await access.audit_only(conn, principal, "export", "hsds_services", None,
                            reason="the directory's community resources (no personal data)")
    return {"hsds_version": hsds.HSDS_VERSION, **hsds.page(services)}
