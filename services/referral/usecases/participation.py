"""Participation support's commands, one function each, deciding and auditing on the route's
unit of work: the office running it (its holder) writes; readers under consent, a 支援会議 or
break-glass only read (kit/policy.py)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg
from fastapi import Request

from contracts.events.referral import ResourceGapRecorded, ResourceMatched
from kit import views
from kit.access import Access
from kit.clock import now
from kit.policy import Record
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from .. import domain, store
from ..domain import matching
from ..domain import participation as rules
from ..domain.resources import Capacity, capacity_of
from ..store import participation as db


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", type_="urn:tsunagu:problem:not-found")


async def directory(conn: asyncpg.Connection, m: str) -> tuple[domain.DirectoryFile, dict[str, Capacity]]:
    """The directory in force, and each resource's capacity now."""
    latest = await store.latest_directory(conn, m)
    if latest is None:
        raise Problem(503, "Directory not loaded yet", "referral reads it at start; try again",
                      headers={"Retry-After": "5"})
    file = domain.DirectoryFile.model_validate(latest["body"])
    stored = await db.capacities(conn, m)
    return file, {r.id: capacity_of(r, stored.get(r.id), latest["published_at"]) for r in file.resources}


async def record(conn: asyncpg.Connection, row: dict[str, Any], m: str) -> Record:
    return Record(municipality=m, holders=frozenset({row["office"]}),
                  person_ids=frozenset({row["person_id"]}),
                  meeting_ids=await views.tabled_in(conn, [row["person_id"]]))


async def _writable(uow: UnitOfWork, request: Request, principal: Principal, access: Access,
                    participation_id: uuid.UUID) -> dict[str, Any]:
    row = await db.get(uow.conn, participation_id, uow.municipality, for_update=True)
    if row is None:
        raise not_found("Participation")
    await access.check(uow, request, principal, await record(uow.conn, row, uow.municipality),
                       "write", "participation", str(participation_id))
    if row["superseded_at"] is not None:
        raise Problem(409, "Superseded", "会議の決定が訂正され、この参加支援は効力を失いました / a "
                      "corrected meeting decision superseded this participation support")
    return row


async def start(person_id: uuid.UUID, need_codes: tuple[str, ...], office: str | None,
                uow: UnitOfWork, principal: Principal, access: Access) -> uuid.UUID:
    """A coordinator starts it before any meeting decides, for a person whose consent covers
    the coordinator's office."""
    mine = (await views.workplace_of(uow.conn, principal.user_id)).offices
    running = sorted([o for o in mine if (f := await views.office(uow.conn, o)) is not None
                      and f.kind in rules.RUNNING_KINDS])
    await access.require(uow, principal, principal.is_staff and bool(running), "write",
                         "participation", str(person_id), ONLY_COORDINATORS)
    if (office is None and len(running) != 1) or (office is not None and office not in running):
        raise Problem(422, "Which office runs it?", f"name office, one of {running}")
    runner = office or running[0]
    place = await views.office(uow.conn, runner)
    assert place is not None
    consents = await views.consents_for(uow.conn, [person_id])
    await access.require(uow, principal, rules.covered(person_id, place.place, consents, now()),
                         "write", "participation", str(person_id), rules.not_covered(runner))
    participation_id = uuid.uuid4()
    await db.start(uow.conn, uow.municipality, participation_id, person_id, runner,
                   principal.user_id, None, need_codes, now())
    await access.audit_only(uow, principal, "write", "participation", str(participation_id),
                            (person_id,), reason="a coordinator started participation support")
    return participation_id


async def set_profile(participation_id: uuid.UUID, profile: dict[str, Any], uow: UnitOfWork,
                      principal: Principal, access: Access, request: Request) -> None:
    await _writable(uow, request, principal, access, participation_id)
    await db.set_profile(uow.conn, participation_id, profile, list(profile["need_codes"]))


async def match(participation_id: uuid.UUID, uow: UnitOfWork, principal: Principal,
                access: Access, request: Request) -> matching.Ranking:
    """Rank the directory's resources for the person's needs profile; a need none meets is a
    resource gap (recorded once per need)."""
    row = await _writable(uow, request, principal, access, participation_id)
    p = row["profile"]
    if p is None:
        raise Problem(422, "No needs profile", "先にニーズ票を記録してください / record the needs "
                      "profile first (PUT …/profile)")
    file, capacities = await directory(uow.conn, uow.municipality)
    ranking = matching.rank(matching.Profile(
        frozenset(p["need_codes"]), frozenset(p["interests"]), frozenset(p["constraints"]),
        p["hours_per_week"], frozenset(p["mobility"]), p["area"]), file.resources, capacities)
    at = now()
    uow.record(ResourceMatched(participation_id=participation_id, office=row["office"],
                               need_codes=tuple(sorted(p["need_codes"])),
                               resource_ids=tuple(m.resource_id for m in ranking.matches),
                               matched_at=at))
    gap_id = uuid.uuid4()
    new_gaps = await db.add_gaps(uow.conn, participation_id, gap_id, ranking.unmet)
    if new_gaps:
        uow.record(ResourceGapRecorded(gap_id=gap_id, need_codes=new_gaps, area=p["area"],
                                       recorded_at=at))
    return ranking


async def place(participation_id: uuid.UUID, resource_id: str, uow: UnitOfWork,
                principal: Principal, access: Access, request: Request) -> uuid.UUID:
    """A placement with the resource's host: the person's consent must cover the host office."""
    row = await _writable(uow, request, principal, access, participation_id)
    file, capacities = await directory(uow.conn, uow.municipality)
    resource = file.resource(resource_id)
    if resource is None:
        raise Problem(422, "Unknown resource", f"{resource_id} is not in the directory (GET /resources)")
    host = await views.office(uow.conn, resource.host_office)
    consents = await views.consents_for(uow.conn, [row["person_id"]])
    if host is None or not rules.covered(row["person_id"], host.place, consents, now()):
        await access.require(uow, principal, False, "disclose", "participation",
                             str(participation_id), rules.not_covered(resource.host_office))
    try:
        placement = rules.place(participation_id, row["status"], resource_id, resource.host_office,
                                row["office"], principal.user_id, now())
    except rules.ParticipationRuleBroken as exc:
        raise Problem(409, "Not in that state", str(exc)) from exc
    # The host's count of free places follows (HSDS service_capacity.available); a placement
    # the count says there is no room for is still made (the host may yet take the person, and
    # its count may be stale) but takes no place, and gives none back when it ends.
    await db.add_placement(uow.conn, placement, uow.municipality, capacities[resource_id])
    uow.record(placement.event)
    return placement.id


async def _placement(placement_id: uuid.UUID, uow: UnitOfWork, principal: Principal,
                     access: Access, request: Request) -> dict[str, Any]:
    p = await db.placement(uow.conn, placement_id, uow.municipality)
    if p is None:
        raise not_found("Placement")
    await _writable(uow, request, principal, access, p["participation_id"])
    return p


async def visit(placement_id: uuid.UUID, visited_on: date, note: str, uow: UnitOfWork,
                principal: Principal, access: Access, request: Request) -> uuid.UUID:
    """A visit to the host, recorded by the office running the support (the note stays here)."""
    p = await _placement(placement_id, uow, principal, access, request)
    return await db.add_visit(uow.conn, p["id"], visited_on, principal.user_id, note, now())


async def end(placement_id: uuid.UUID, reason: str, uow: UnitOfWork, principal: Principal,
              access: Access, request: Request) -> uuid.UUID:
    """The person stopped going or moved on: the resource's place is free again."""
    p = await _placement(placement_id, uow, principal, access, request)
    try:
        rules.end(p["ended_at"])
    except rules.ParticipationRuleBroken as exc:
        raise Problem(409, "Not in that state", str(exc)) from exc
    await db.end_placement(uow.conn, p, reason, now(), principal.user_id)
    participation_id: uuid.UUID = p["participation_id"]
    return participation_id


async def stable(placement_id: uuid.UUID, uow: UnitOfWork, principal: Principal, access: Access,
                 request: Request) -> uuid.UUID:
    p = await _placement(placement_id, uow, principal, access, request)
    at = now()
    try:
        rules.end(p["ended_at"])  # an ended placement holds no more
        event = rules.stable(p["id"], p["participation_id"], p["resource_id"], p["office"],
                             p["stable_at"], at)
    except rules.ParticipationRuleBroken as exc:
        raise Problem(409, "Not in that state", str(exc)) from exc
    await db.mark_stable(uow.conn, p["id"], p["participation_id"], at)
    uow.record(event)
    participation_id: uuid.UUID = p["participation_id"]
    return participation_id


async def set_capacity(resource_id: str, available: int, maximum: int | None, uow: UnitOfWork,
                       principal: Principal, access: Access) -> Capacity:
    """Only the resource's host office says how many places are free."""
    file, capacities = await directory(uow.conn, uow.municipality)
    resource = file.resource(resource_id)
    if resource is None:
        raise not_found("Resource")
    mine = (await views.workplace_of(uow.conn, principal.user_id)).offices
    await access.require(uow, principal, resource.host_office in mine, "write", "resource_capacity",
                         resource_id, ONLY_HOST)
    top = capacities[resource_id].maximum if maximum is None else maximum
    if available > top:
        raise Problem(422, "More free than places", f"available ({available}) exceeds maximum ({top})")
    capacity = Capacity(available, top, now())
    await db.set_capacity(uow.conn, uow.municipality, resource_id, capacity, principal.user_id)
    await access.audit_only(uow, principal, "write", "resource_capacity", resource_id,
                            reason="the host office's own resource")
    return capacity


ONLY_COORDINATORS = ("会議の決定の前に参加支援を始められるのはコーディネーターだけです / only a "
                     "coordinator starts participation support before a meeting decides it")
ONLY_HOST = ("空き状況を更新できるのはその資源を提供する機関の職員だけです / only the resource's host "
             "office updates its capacity")
