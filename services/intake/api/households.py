"""Households (世帯): membership, and the household view across divisions."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Address, Code
from kit.access import Access, AccessDep, redact
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import Principal, PrincipalDep
from kit.clock import now
from kit.problems import Problem
from kit.uow import UnitOfWork

from ..domain import persons as domain
from ..store import consultations as consultation_store
from ..store import households as store
from ..store import persons as person_store
from . import records
from .consultations import PROTECTED, consultation_out

router = APIRouter(tags=["本人・世帯 persons"])


class MemberIn(BaseModel):
    person_id: uuid.UUID
    relation: Code = Field(description=f"one of {', '.join(domain.RELATIONS)}")


class HouseholdIn(BaseModel):
    address: Address | None = None
    members: list[MemberIn] = Field(min_length=1, max_length=30)


class HouseholdOut(BaseModel):
    id: uuid.UUID
    address: str | None
    members: list[dict[str, Any]]
    consultations: list[dict[str, Any]] = []
    hidden_consultations: int | None = Field(
        None, description="consultations the user may not see; told only to the household's holder")
    created_at: AwareDatetime


@router.post("/households", status_code=201, response_model=HouseholdOut, summary="世帯を登録する")
async def create(body: HouseholdIn, request: Request, principal: PrincipalDep, uow: UowDep,
                 settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    household_id, at, m = uuid.uuid4(), now(), settings.municipality_code
    async with uow:
        await access.staff_only(uow, principal, "write", "household", str(household_id))
        await store.add(uow.conn, household_id, m, body.address, principal.user_id, principal.agency, at)
        await _set_members(uow, request, principal, access, household_id, (), body.members, m)
        await access.audit_only(uow, principal, "write", "household", str(household_id),
                                tuple(x.person_id for x in body.members))
        await uow.commit()
    return {"id": household_id, "address": body.address, "created_at": at,
            "members": [x.model_dump() for x in body.members]}


@router.put("/households/{household_id}/members", response_model=HouseholdOut,
            summary="世帯員を更新する (the household's holder; each member added must be held too)")
async def set_members(household_id: uuid.UUID, body: HouseholdIn, request: Request,
                      principal: PrincipalDep, uow: UowDep, settings: SettingsDep,
                      access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    async with uow:
        await access.staff_only(uow, principal, "write", "household", str(household_id))
        household = await store.get(uow.conn, household_id, m)
        if household is None:
            raise records.not_found("Household")
        await access.check(uow, request, principal, records.household(household, m), "write",
                           "household", str(household_id))
        before = tuple(x["person_id"] for x in household["members"])
        await _set_members(uow, request, principal, access, household_id, before, body.members, m)
        await access.audit_only(uow, principal, "write", "household", str(household_id),
                                tuple(x.person_id for x in body.members))
        await uow.commit()
        row = await store.get(uow.conn, household_id, m)
    return {**(row or {})}


async def _set_members(uow: UnitOfWork, request: Request, principal: Principal, access: Access,
                       household_id: uuid.UUID, before: tuple[uuid.UUID, ...],
                       members: list[MemberIn], m: str) -> None:
    """Adding a person to a household is a write to that person: only their holder may, so
    nobody gathers other offices' clients into a household of their own to count their files."""
    by_person = {x.person_id: x.relation for x in members}
    try:
        uow.record(domain.household_changed(household_id, by_person, now()))
    except domain.PersonRuleBroken as exc:
        raise Problem(422, "Invalid household", str(exc)) from exc
    for person_id in by_person.keys() - set(before):
        row = await person_store.get(uow.conn, person_id, m)
        if row is None:
            raise Problem(422, "Unknown person", "register every member first (POST /persons)")
        await access.check(uow, request, principal, await records.person(uow.conn, row, m), "write",
                           "person", str(person_id))
    await store.set_members(uow.conn, household_id, by_person)


@router.get("/households/{household_id}", response_model=HouseholdOut,
            summary="世帯の全体像 (every consultation across divisions, as far as you may see)")
async def view(household_id: uuid.UUID, request: Request, principal: PrincipalDep, conn: ConnDep,
               settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    household = await store.get(conn, household_id, m)
    if household is None:
        raise records.not_found("Household")
    member_ids = [x["person_id"] for x in household["members"]]
    # The household itself is visible to whoever may see one of its members.
    visible_members = []
    for member in household["members"]:
        row = await person_store.get(conn, member["person_id"], m)
        record = await records.person(conn, row or {}, m)
        try:
            await access.check(conn, request, principal, record, "read", "person", str(member["person_id"]))
            visible_members.append({**member, **{k: row[k] for k in (
                "family_name", "given_name", "family_kana", "given_kana", "birth_date")}} if row else member)
        except Problem:
            visible_members.append({"person_id": member["person_id"], "relation": member["relation"],
                                    "restricted": True})
    if not any(not v.get("restricted") for v in visible_members):
        raise Problem(403, "Forbidden", "この世帯の誰の記録も見られません。保持機関に同意の記録を依頼して"
                      "ください / you may see no member of this household: ask an office holding "
                      "them to record a consent that covers your agency",
                      type_="urn:tsunagu:problem:forbidden")
    shown, hidden = [], 0
    for row in await consultation_store.of_household(conn, member_ids, household_id, m):
        record = await records.consultation(conn, row, m)
        try:
            decision = await access.check(conn, request, principal, record, "read", "consultation",
                                          str(row["id"]))
            shown.append(redact(consultation_out(row), decision, PROTECTED))
        except Problem:
            hidden += 1
    # How much is hidden is itself a fact about the members: only the household's holder learns it.
    holder = (await access.decision(conn, principal, records.household(household, m), "write")).permitted
    return {**household, "members": visible_members, "consultations": shown,
            "hidden_consultations": hidden if holder else None}
