"""Persons (名寄せ): register, read, find candidates, merge and unmerge."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Address, Code, Name, Phone, Reason
from kit import audit
from kit.access import Access, AccessDep
from kit.api import ConnDep, SettingsDep, UowDep
from kit.auth import Principal, PrincipalDep
from kit.clock import now
from kit.problems import Problem
from kit.uow import UnitOfWork

from ..domain import matching, names
from ..domain import persons as domain
from ..store import persons as store
from . import records

router = APIRouter(tags=["本人・世帯 persons"])
SEARCHES_PER_MINUTE = 30  # per user: enough for a window, too few to harvest the register
MAX_CANDIDATES = 5


class PersonIn(BaseModel):
    family_name: Name = Field(min_length=1, description="氏（入力どおり）")
    given_name: Name = Field(min_length=1, description="名（入力どおり）")
    family_kana: Name = Field(min_length=1, description="氏フリガナ")
    given_kana: Name = Field(min_length=1, description="名フリガナ")
    birth_date: date | None = None
    sex: Code | None = None
    address: Address | None = None
    phone: Phone | None = None
    atena_number: str | None = Field(None, pattern=r"^[0-9]{1,15}$", description="宛名番号")


class PersonOut(PersonIn):
    id: uuid.UUID
    merged_into: uuid.UUID | None
    registered_agency: str
    registered_at: AwareDatetime
    merges: list[dict[str, Any]] = []


class CandidateOut(BaseModel):
    person_id: uuid.UUID
    score: float
    reasons: list[str]
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    birth_date: date | None


class MergeIn(BaseModel):
    person_id: uuid.UUID = Field(description="the record to merge into this one, or to restore")
    reason: Reason = Field(min_length=2)


@router.post("/persons", status_code=201, response_model=PersonOut, summary="本人を登録する")
async def register(body: PersonIn, request: Request, principal: PrincipalDep, uow: UowDep,
                   settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    m = settings.municipality_code
    duplicate: Problem | None = None
    async with uow:
        await access.staff_only(uow, principal, "write", "person")
        try:
            person = domain.register(domain.Identity(**body.model_dump()), principal.agency,
                                     principal.user_id, now())
        except domain.PersonRuleBroken as exc:
            raise Problem(422, "Invalid person", str(exc)) from exc
        if body.atena_number:  # a look-up of the register by its number: bounded like a search
            await access.throttle(uow, principal, "search", "person_number", SEARCHES_PER_MINUTE, 60)
            if existing := await store.by_atena(uow.conn, m, body.atena_number):
                duplicate = await _duplicate(uow, request, principal, access, existing, m)
        if duplicate is None:
            await store.add(uow.conn, person, m)
            uow.record(*person.events)
            await access.audit_only(uow, principal, "write", "person", str(person.id), (person.id,),
                                    reason="registered at the user's window")
        await uow.commit()  # the duplicate's audit records too
    if duplicate is not None:
        raise duplicate
    return {**body.model_dump(), "id": person.id, "merged_into": None,
            "registered_agency": principal.agency, "registered_at": person.registered_at}


async def _duplicate(uow: UnitOfWork, request: Request, principal: Principal, access: Access,
                     existing: uuid.UUID, m: str) -> Problem:
    """The number is taken: say so, but name the person only to someone who may read them."""
    row = await store.get(uow.conn, existing, m)
    assert row is not None
    try:
        await access.check(uow, request, principal, await records.person(uow.conn, row, m), "read",
                           "person", str(existing))
        may_read = True
    except audit.Denied as refused:
        uow.audit(refused.entry)
        may_read = False
    await access.audit_only(uow, principal, "search", "person_number", str(existing), (existing,),
                            reason="宛名番号 already registered: the person's id was "
                                   + ("shown" if may_read else "withheld"))
    shown: dict[str, Any] = {"person_id": str(existing)} if may_read else {}
    return Problem(409, "Person number already registered",
                   "この宛名番号の方はすでに登録されています。" + (
                       "この方に紐づけてください / link to them instead" if may_read else
                       "名寄せ候補検索（フリガナと生年月日）で探すか、担当の窓口に照会してください / "
                       "find them with the person search or ask the office that holds them"),
                   type_="urn:tsunagu:problem:duplicate-atena", **shown)


@router.get("/persons/candidates", response_model=list[CandidateOut],
            summary="名寄せ候補を探す (bounded and audited)")
async def candidates(principal: PrincipalDep, uow: UowDep, settings: SettingsDep,
                     access: AccessDep,
                     family_kana: str = Query("", max_length=50),
                     given_kana: str = Query("", max_length=50),
                     family_name: str = Query("", max_length=50),
                     given_name: str = Query("", max_length=50),
                     birth_date: date | None = None, address: str | None = Query(None, max_length=200),
                     phone: str | None = Query(None, max_length=30),
                     atena_number: str | None = Query(None, pattern=r"^[0-9]{1,15}$")
                     ) -> list[dict[str, Any]]:
    kana = names.normalize_kana(family_kana + given_kana)
    named = names.kana_letters(kana) >= 3
    m = settings.municipality_code
    async with uow:
        await access.staff_only(uow, principal, "search", "person_candidates")
        if not named and not atena_number:
            raise Problem(422, "Query too short", "フリガナを3文字以上入力するか、宛名番号を指定して"
                          "ください（一覧はできません） / give at least three kana of the reading, or "
                          "a person number: the register cannot be browsed")
        await access.throttle(uow, principal, "search", "person_candidates", SEARCHES_PER_MINUTE, 60)
        # Without a name key only the person number is looked up, never the date or address.
        probe = matching.Probe(
            kana_key=kana if named else "",
            kanji_key=names.normalize_kanji(family_name + given_name) if named else "",
            birth_date=birth_date if named else None,
            address_key=names.normalize_address(address) if address and named else None,
            phone_key=names.normalize_phone(phone) if phone and named else None,
            atena_number=atena_number)
        keys = [kana, *domain.deletions(kana)] if named else []
        known = await store.candidates(uow.conn, m, probe, keys)
        found = matching.rank(probe, known, MAX_CANDIDATES)
        # A number alone names only whom the user may read (as registering a taken one does).
        ranked = found if named else \
            [c for c in found if await _may_read(uow, principal, access, c.person_id, m)]
        people = await store.summaries(uow.conn, [c.person_id for c in ranked])
        await access.audit_only(uow, principal, "search", "person_candidates", None,
                                tuple(c.person_id for c in found), reason="名寄せ候補の照会" + (
                                    f" ({len(found) - len(ranked)} withheld: not readable by the "
                                    "user)" if len(found) > len(ranked) else ""))
        await uow.commit()
    return [{**people[c.person_id], "person_id": c.person_id, "score": c.score,
             "reasons": list(c.reasons)} for c in ranked]


async def _may_read(uow: UnitOfWork, principal: Principal, access: Access, person_id: uuid.UUID,
                    m: str) -> bool:
    row = await store.get(uow.conn, person_id, m)
    return row is not None and (await access.decision(
        uow, principal, await records.person(uow.conn, row, m), "read")).permitted


@router.get("/persons/{person_id}", response_model=PersonOut, summary="本人の記録を見る")
async def get_person(person_id: uuid.UUID, request: Request, principal: PrincipalDep,
                     conn: ConnDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    row = await store.get(conn, person_id, settings.municipality_code)
    if row is None:
        raise records.not_found("Person")
    await access.check(conn, request, principal, await records.person(conn, row, settings.municipality_code),
                       "read", "person", str(person_id))
    return {**row, "merges": await store.merge_history(conn, person_id)}


@router.post("/persons/{person_id}/merge", response_model=PersonOut,
             summary="同一人物として統合する (explicit, audited, reversible)")
async def merge(person_id: uuid.UUID, body: MergeIn, request: Request, principal: PrincipalDep,
                uow: UowDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    return await _merge_or_unmerge(person_id, body, request, principal, uow, settings, access, True)


@router.post("/persons/{person_id}/unmerge", response_model=PersonOut, summary="統合を取り消す")
async def unmerge(person_id: uuid.UUID, body: MergeIn, request: Request, principal: PrincipalDep,
                  uow: UowDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    return await _merge_or_unmerge(person_id, body, request, principal, uow, settings, access, False)


async def _merge_or_unmerge(person_id: uuid.UUID, body: MergeIn, request: Request,
                            principal: Any, uow: Any, settings: Any, access: Any,
                            merging: bool) -> dict[str, Any]:
    m = settings.municipality_code
    async with uow:
        await access.staff_only(uow, principal, "write", "person", str(person_id))
        found = [await store.get(uow.conn, pid, m) for pid in (person_id, body.person_id)]
        rows = [r for r in found if r is not None]
        if len(rows) != 2:
            raise records.not_found("Person")
        for row in rows:  # the user must hold both records: a reader under consent merges nothing
            await access.check(uow, request, principal, await records.person(uow.conn, row, m), "write",
                               "person", str(row["id"]))
        surviving, other = [await store.state(uow.conn, pid, m) for pid in (person_id, body.person_id)]
        assert surviving and other
        at = now()
        try:
            if merging:
                uow.record(domain.merge(surviving, other, at))
                await store.record_merge(uow.conn, m, person_id, other.id, body.reason,
                                         principal.user_id, at)
            else:
                uow.record(domain.unmerge(surviving, other, at))
                await store.record_unmerge(uow.conn, other.id, body.reason, principal.user_id, at)
        except domain.PersonRuleBroken as exc:
            raise Problem(409, "Merge refused" if merging else "Unmerge refused", str(exc)) from exc
        await uow.commit()
        updated = await store.get(uow.conn, person_id, m)  # the request's one connection
        assert updated is not None
        return {**updated, "merges": await store.merge_history(uow.conn, person_id)}
