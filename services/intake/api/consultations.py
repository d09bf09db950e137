"""Consultations: record at any window; read under the access policy."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Code, Complaint, Id, Instant, Reason
from contracts.taxonomy import Channel, DestinationKind, Urgency, receiving_office
from kit import views
from kit.access import Access, AccessDep, redact
from kit.api import ConnDep, SettingsDep, created, unit_of_work
from kit.auth import Principal, PrincipalDep
from kit.clock import now
from kit.lean import lean
from kit.policy import HEALTH
from kit.problems import Problem
from kit.settings import ServiceSettings
from kit.uow import UnitOfWork

from ..domain import consultations as domain
from ..store import consents as consent_store
from ..store import consultations as store
from ..store import households as household_store
from ..store import persons as person_store
from . import records

router = APIRouter(tags=["相談受付 consultations"])
PROTECTED = {"health_notes": HEALTH}


class DestinationIn(BaseModel):
    kind: DestinationKind
    agency: Id | None = None


class HandoverIn(BaseModel):
    """共通の様式 (common hand-over form)."""

    main_complaint: Complaint | None = Field(None, description="主訴; defaults to the consultation's")
    reason: Reason = Field(min_length=1, description="つなぐ理由")
    consent_id: uuid.UUID | None = Field(None, description="the consent it relies on (one person)")
    consent_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20,
                                         description="each person's own consent (or their "
                                                     "guardian's) it relies on")

    def consents(self) -> tuple[uuid.UUID, ...]:
        return tuple(dict.fromkeys([*([self.consent_id] if self.consent_id else []),
                                    *self.consent_ids]))


class IntakeSheet(BaseModel):
    """インテーク・アセスメントシート items the national report counts (README: 国への報告)."""

    consulter: Literal["self", "family", "agency", "welfare_commissioner", "other"] | None = None
    age_band: Literal["under_20", "20s", "30s", "40s", "50s", "60s", "70s", "80_and_over",
                      "unknown"] | None = None
    sex: Literal["male", "female", "other", "unknown"] | None = None
    household_type: Literal["single", "couple", "parent_child", "three_generations", "other",
                            "unknown"] | None = None
    employment: Literal["employed", "unemployed", "student", "retired", "unknown"] | None = None
    public_assistance: bool | None = Field(None, description="生活保護受給")
    disability_certificate: bool | None = Field(None, description="障害者手帳")
    long_term_care_certified: bool | None = Field(None, description="要介護認定")


class ConsultationIn(BaseModel):
    received_at: Instant | None = None
    channel: Channel
    main_complaint: Complaint = Field(min_length=1, description="主訴")
    categories: list[Code] = Field(default_factory=list, max_length=30)
    urgency: Urgency = "normal"
    destination: DestinationIn | None = Field(
        default=None, description="必須: 断らない相談 — every consultation goes somewhere")
    person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    present_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=20,
        description="本人来所: of person_ids, those who came to the window themselves. Only they "
                    "make this window a holder of their record; persons merely named do not.")
    household_id: uuid.UUID | None = Field(None, description="needs the right to write to it")
    handover: HandoverIn | None = None
    intake_sheet: IntakeSheet | None = None
    health_notes: Complaint | None = Field(None, description="health details (protected)")


class ConsultationOut(BaseModel):
    id: uuid.UUID
    received_at: AwareDatetime
    channel: Channel
    receiving_division: str
    received_by: str
    main_complaint: str
    categories: list[str]
    urgency: Urgency
    destination: DestinationIn
    person_ids: list[uuid.UUID]
    present_ids: list[uuid.UUID]
    household_id: uuid.UUID | None
    handover: dict[str, Any] | None
    intake_sheet: dict[str, Any] | None
    health_notes: str | None


class HandedOverCopyOut(BaseModel):
    handed_over_copy: bool = Field(True, description="写し: what was handed over, as it was then")
    consultation_id: uuid.UUID
    to_office: str
    to_legal_body: str
    handed_over_at: AwareDatetime
    consent_ids: list[uuid.UUID] = Field(description="the consents it relied on")
    disclosed: dict[str, Any]


@router.get("/categories", summary="相談分野の一覧 (taxonomy, Japanese and English labels)")
async def categories(request: Request) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = request.app.state.categories
    return result


@router.post("/consultations", status_code=201, response_model=ConsultationOut,
             summary="相談を受け付ける (record a consultation at any window)")
@lean  # a valid request skips FastAPI's machinery (kit/lean.py): the hottest route
async def post_consultation(body: ConsultationIn, request: Request,
                            principal: PrincipalDep) -> Response:
    # One dependency, and the 201 made here (a Response parameter would be one more: FastAPI
    # solves each per request when a body is refused). Sign-in stays one: FastAPI solves it
    # before it validates the body, so a refused token or office is refused (and a forged
    # office on record) whatever the body holds, as on every other route.
    c, row = await record_consultation(body, request, principal)
    return created(ConsultationOut, consultation_out(row), f"/consultations/{c.id}")


async def record_consultation(body: ConsultationIn, request: Request, principal: Principal
                              ) -> tuple[domain.Consultation, dict[str, Any]]:
    """Record a consultation at the user's own window: the use case behind the route, its
    stored row as `get` would read it back."""
    uow = await unit_of_work(request)  # what UowDep gives a route (the claim of a key)
    # The settings and the access checks off the app itself, not as dependencies: every
    # dependency costs FastAPI a recursive solve per request (#14: the hottest route).
    settings: ServiceSettings = request.app.state.settings
    access: Access = request.app.state.access
    at = body.received_at or now()
    # The window is the user's own: receiving division from the token. Every statement before the
    # commit is a plain read (consents, the office, persons, the household, the access views):
    # no transaction is needed around them (kit/uow.py `writing_at_commit`), and the write is the
    # commit's one statement.
    async with uow.writing_at_commit():
        await access.staff_only(uow, principal, "write", "consultation")
        consents = [(c.id, c.as_policy()) for c in
                    await consent_store.of_persons(uow.conn, body.person_ids)]
        office = receiving_office(body.destination.kind, body.destination.agency,
                                  principal.agency) if body.destination else None
        to = await views.office(uow.conn, office) if office else None
        try:
            dest = domain.Destination(body.destination.kind, body.destination.agency) \
                if body.destination else None
            handover = domain.Handover(body.handover.main_complaint or body.main_complaint,
                                       body.handover.reason, body.handover.consents()) \
                if body.handover else None
            c = domain.receive(
                received_at=at, channel=body.channel, receiving_division=principal.agency,
                received_by=principal.user_id, main_complaint=body.main_complaint,
                categories=tuple(body.categories), urgency=body.urgency, destination=dest,
                known_categories=frozenset(request.app.state.categories),
                person_ids=tuple(body.person_ids), present_ids=tuple(body.present_ids),
                household_id=body.household_id,
                handover=handover, consents=consents,
                intake_sheet=body.intake_sheet.model_dump(exclude_none=True) if body.intake_sheet else None,
                health_notes=body.health_notes, to=to, now=now())
        except domain.NoDestination as exc:
            raise Problem(422, "Consultation has no destination", str(exc),
                          type_="urn:tsunagu:problem:no-destination") from exc
        except domain.HandoverRefused as exc:
            raise Problem(422, "Hand-over refused", str(exc),
                          type_="urn:tsunagu:problem:handover-refused") from exc
        except ValueError as exc:
            raise Problem(422, "Invalid consultation", str(exc)) from exc
        await _check_links(uow, request, principal, access, body, settings.municipality_code)
        copy = None
        if to is not None and c.destination.kind == "agency":  # the receiver's own copy
            persons = await person_store.summaries(uow.conn, list(c.person_ids))
            copy = store.Copy(to.office_id, to.legal_body_id,
                              list(c.handover.consent_ids if c.handover else ()), now(),
                              domain.handed_over_copy(c, to, [persons[p] for p in c.person_ids],
                                                      consents, now()))
        uow.record(*c.events)
        came = f"; came themselves (本人来所): {', '.join(map(str, c.present_ids))}" \
            if c.present_ids else ""
        await access.audit_only(uow, principal, "write", "consultation", str(c.id), c.person_ids,
                                reason="recorded at the user's own window" + came)
        if c.handover and c.handover.consent_ids and c.person_ids:  # IHE BALP PrivacyDisclosure
            await access.audit_only(uow, principal, "disclose", "consultation", str(c.id),
                                    c.person_ids, reason=f"hand-over to {office} under consents "
                                    f"{', '.join(map(str, c.handover.consent_ids))}: "
                                    f"{c.handover.reason}")
        row = await uow.commit(store.write(c, settings.municipality_code, copy))
    assert row is not None
    return c, store.added(row, c)


async def _check_links(uow: UnitOfWork, request: Request, principal: Principal, access: Access,
                       body: ConsultationIn, municipality: str) -> None:
    """Linking a person needs only that they exist (it shows nothing more of them); handing a
    person who did not come on to another office discloses them (only their holder may: a reader
    under consent or break-glass would make the receiver a holder, or send it their name and
    address); attaching to a household is a write to that household."""
    if body.person_ids and not await person_store.all_exist(uow.conn, body.person_ids, municipality):
        raise Problem(422, "Unknown person", "register the person first (POST /persons)")
    if body.destination and body.destination.kind in domain.LEAVES_THE_WINDOW:
        for person_id in dict.fromkeys(p for p in body.person_ids if p not in body.present_ids):
            row = await person_store.get(uow.conn, person_id, municipality)
            assert row is not None
            await access.check(uow, request, principal, await records.person(uow.conn, row, municipality),
                               "disclose", "person", str(person_id))
    if body.household_id is None:
        return
    household = await household_store.get(uow.conn, body.household_id, municipality)
    if household is None:
        raise Problem(422, "Unknown household")
    await access.check(uow, request, principal, records.household(household, municipality),
                       "write", "household", str(body.household_id))


@router.get("/consultations/{consultation_id}", response_model=ConsultationOut,
            summary="相談記録を見る")
async def get_consultation(consultation_id: uuid.UUID, request: Request, principal: PrincipalDep,
                           conn: ConnDep, settings: SettingsDep, access: AccessDep) -> dict[str, Any]:
    row = await store.get(conn, consultation_id, settings.municipality_code)
    if row is None:
        raise records.not_found("Consultation")
    record = await records.consultation(conn, row, settings.municipality_code)
    decision = await access.check(conn, request, principal, record, "read", "consultation",
                                  str(consultation_id))
    return redact(consultation_out(row), decision, PROTECTED)


@router.get("/consultations/{consultation_id}/handed-over-copy", response_model=HandedOverCopyOut,
            summary="引き継ぎを受けた記録の写し (what your office was handed, as it was then)")
async def get_handed_over_copy(consultation_id: uuid.UUID, request: Request,
                               principal: PrincipalDep, conn: ConnDep, settings: SettingsDep,
                               access: AccessDep) -> dict[str, Any]:
    """The receiving office keeps what it was handed, whatever becomes of the consent since;
    the live record (GET /consultations/{id}) it reads only while a consent covers it."""
    row = await store.get(conn, consultation_id, settings.municipality_code)
    copies = await store.copies_of(conn, consultation_id, settings.municipality_code)
    if row is None or not copies:
        raise records.not_found("Handed-over copy")
    mine = (await views.workplace_of(conn, principal.user_id)).offices
    copy = next((c for c in copies if c["to_office"] in mine), copies[0])
    record = replace(await records.consultation(conn, row, settings.municipality_code),
                     holders=frozenset({copy["to_office"], row["receiving_division"]}))
    decision = await access.check(conn, request, principal, record, "read", "handed_over_copy",
                                  str(copy["id"]))
    disclosed = copy["disclosed"]
    if HEALTH in decision.hidden:
        disclosed = {**disclosed, "consultation": {**disclosed["consultation"], "health_notes": None}}
    return {"handed_over_copy": True, **{k: copy[k] for k in HandedOverCopyOut.model_fields
                                         if k in copy}, "disclosed": disclosed}


def consultation_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: row[k] for k in ConsultationOut.model_fields if k in row and k != "destination"},
            "destination": {"kind": row["destination_kind"], "agency": row["destination_agency"]},
            "person_ids": list(row["person_ids"]), "present_ids": list(row.get("present_ids") or [])}
