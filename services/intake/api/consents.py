"""Consents to share: record, list, withdraw."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Code, Id, Instant, Name, Reason, Ref
from kit import views
from kit.access import AccessDep, Db
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import PrincipalDep
from kit.clock import now
from kit.problems import Problem
from kit.uow import UnitOfWork

from ..domain import consents as domain
from ..store import consents as store
from ..store import persons as person_store
from . import records

router = APIRouter(tags=["同意 consents"])


class ConsentIn(BaseModel):
    given_by: domain.GivenBy = "person"
    given_by_name: Name | None = Field(None, description="guardian/representative")
    agencies: list[Id] = Field(default_factory=list, max_length=50,
                               description="legal bodies (or single offices) it covers, as ids "
                                           "of the directory (GET /directory on referral)")
    all_participating: bool = Field(False, description="every body taking part in the "
                                    "重層的支援体制: an explicit choice, with evidence_ref")
    purposes: list[Code] = Field(default_factory=lambda: ["support"], min_length=1, max_length=10)
    method: domain.Method
    given_at: Instant | None = None
    valid_until: Instant | None = None
    evidence_ref: Ref | None = Field(None, description="the signed form's reference")


class ConsentOut(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    given_by: str
    given_by_name: str | None
    agencies: list[str]
    purposes: list[str]
    method: str
    given_at: AwareDatetime
    valid_until: AwareDatetime | None
    evidence_ref: str | None
    withdrawn_at: AwareDatetime | None
    all_participating: bool
    participating_bodies: list[str] = Field(description="with all_participating: the legal "
                                            "bodies taking part when it was given, which it covers")
    withdrawn_for: list[str]
    status: Literal["active", "expired", "withdrawn", "not_yet_valid"]


class WithdrawIn(BaseModel):
    reason: Reason | None = None
    only_for: list[Id] = Field(default_factory=list, max_length=50,
                               description="withdraw it for these bodies only (empty: in whole)")


def _out(c: domain.ConsentRecord) -> dict[str, Any]:
    at = now()
    status = ("withdrawn" if c.withdrawn_at else "expired" if c.valid_until and c.valid_until <= at
              else "not_yet_valid" if c.given_at > at else "active")
    return {**c.__dict__, "withdrawn_for": list(c.withdrawn_for),
            "participating_bodies": list(c.participating_bodies), "status": status}


async def _person_for(request: Request, principal: Any, db: Db, access: Any, person_id: uuid.UUID,
                      municipality: str, action: Any) -> dict[str, Any]:
    conn = db.conn if isinstance(db, UnitOfWork) else db
    row = await person_store.get(conn, person_id, municipality)
    if row is None:
        raise records.not_found("Person")
    await access.check(db, request, principal, await records.person(conn, row, municipality), action,
                       "consents", str(person_id))
    return row


async def _known(conn: Any, ids: list[str]) -> None:
    unknown = await views.unknown_bodies(conn, ids)
    if unknown:
        raise Problem(422, "Unknown legal body or office",
                      f"名簿にない法人・機関です: {unknown}。名簿 (GET /directory) のidを使ってください / "
                      f"not in the directory: {unknown}; use ids from GET /directory on referral",
                      type_="urn:tsunagu:problem:unknown-body", unknown=unknown)


@router.post("/persons/{person_id}/consents", status_code=201, response_model=ConsentOut,
             summary="個人情報共有の同意を記録する")
async def give(person_id: uuid.UUID, body: ConsentIn, request: Request, principal: PrincipalDep,
               uow: UowDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    async with uow:  # a holder's act (or the person's own, at the window they came to)
        await access.staff_only(uow, principal, "write", "consents", str(person_id))
        person = await _person_for(request, principal, uow, access, person_id, m, "write")
        # "Every participating body" means those taking part now, fixed in the consent.
        taking_part = await views.participating_bodies(uow.conn, m) if body.all_participating else ()
        try:
            record, granted = domain.give(
                person_id, body.given_by, body.given_by_name, tuple(body.agencies),
                tuple(body.purposes), body.method, body.given_at or now(), body.valid_until,
                body.evidence_ref, now(), all_participating=body.all_participating,
                participating_bodies=taking_part,
                birth_date=person["birth_date"], minor_age=settings.minor_consent_age)
        except domain.ConsentRuleBroken as exc:
            raise Problem(422, "Invalid consent", str(exc)) from exc
        await _known(uow.conn, list(record.agencies))
        await store.add(uow.conn, record, m, principal.user_id, principal.agency)
        await views.apply_consent_granted(uow.conn, granted, m)  # intake's own view: at once
        uow.record(granted)
        await uow.commit()
    return _out(record)


@router.get("/persons/{person_id}/consents", response_model=list[ConsentOut], summary="同意の一覧")
async def list_consents(person_id: uuid.UUID, request: Request, principal: PrincipalDep,
                        conn: ConnDep, settings: SettingsDep, access: AccessDep) -> list[dict[str, Any]]:
    await _person_for(request, principal, conn, access, person_id, settings.municipality_code, "read")
    return [_out(c) for c in await store.of_persons(conn, [person_id])]


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentOut, summary="同意を撤回する")
async def withdraw(consent_id: uuid.UUID, body: WithdrawIn, request: Request, principal: PrincipalDep,
                   uow: UowDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    async with uow:
        await access.staff_only(uow, principal, "write", "consents", str(consent_id))
        record = await store.get(uow.conn, consent_id, m, for_update=True)
        if record is None:
            raise records.not_found("Consent")
        await _person_for(request, principal, uow, access, record.person_id, m, "write")
        if record.withdrawn_at is not None:
            raise Problem(409, "Already withdrawn", "this consent was already withdrawn")
        await _known(uow.conn, body.only_for)
        try:
            _, withdrawn = domain.withdraw(record, now(), tuple(body.only_for))
        except domain.ConsentRuleBroken as exc:
            raise Problem(422, "Invalid withdrawal", str(exc)) from exc
        if withdrawn.only_for:
            await store.mark_withdrawn_for(uow.conn, consent_id, list(withdrawn.only_for),
                                           withdrawn.withdrawn_at, principal.user_id, body.reason)
        else:
            await store.mark_withdrawn(uow.conn, consent_id, withdrawn.withdrawn_at,
                                       principal.user_id, body.reason)
        await views.apply_consent_ended(uow.conn, consent_id, withdrawn.withdrawn_at,
                                        withdrawn.only_for)
        uow.record(withdrawn)
        await uow.commit()
        updated = await store.get(uow.conn, consent_id, m)  # the request's one connection
    assert updated is not None
    return _out(updated)
