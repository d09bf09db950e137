"""intake's HTTP routes: parse -> unit of work -> domain -> respond."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, Field

from contracts.taxonomy import Channel, DestinationKind, Urgency
from kit.api import ConnDep, SettingsDep, UowDep
from kit.clock import now
from kit.problems import Problem

from . import domain, store

router = APIRouter(tags=["相談受付 consultations"])


class DestinationIn(BaseModel):
    kind: DestinationKind
    agency: str | None = None


class ConsultationIn(BaseModel):
    received_at: AwareDatetime | None = None
    channel: Channel
    receiving_division: str = Field(min_length=1, max_length=100)
    received_by: str = Field(min_length=1, max_length=100)
    main_complaint: str = Field(min_length=1, max_length=10000, description="主訴")
    categories: list[str] = Field(default_factory=list, max_length=30)
    urgency: Urgency = "normal"
    destination: DestinationIn | None = Field(
        default=None, description="必須: 断らない相談 — every consultation goes somewhere")


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


@router.post("/consultations", status_code=201, response_model=ConsultationOut,
             summary="相談を受け付ける (record a consultation at any window)")
async def post_consultation(body: ConsultationIn, uow: UowDep, settings: SettingsDep,
                            response: Response) -> ConsultationOut:
    try:
        dest = domain.Destination(body.destination.kind, body.destination.agency) \
            if body.destination else None
        consultation = domain.receive(
            received_at=body.received_at or now(), channel=body.channel,
            receiving_division=body.receiving_division, received_by=body.received_by,
            main_complaint=body.main_complaint, categories=tuple(body.categories),
            urgency=body.urgency, destination=dest)
    except domain.NoDestination as exc:
        raise Problem(422, "Consultation has no destination", str(exc),
                      type_="urn:tsunagu:problem:no-destination") from exc
    except ValueError as exc:
        raise Problem(422, "Invalid consultation", str(exc)) from exc
    async with uow:
        await store.add(uow.conn, consultation, settings.municipality_code)
        uow.record(*consultation.events)
        await uow.commit()
    response.headers["Location"] = f"/consultations/{consultation.id}"
    c = consultation
    return ConsultationOut(
        id=c.id, received_at=c.received_at, channel=c.channel,
        receiving_division=c.receiving_division, received_by=c.received_by,
        main_complaint=c.main_complaint, categories=list(c.categories), urgency=c.urgency,
        destination=DestinationIn(kind=c.destination.kind, agency=c.destination.agency))


@router.get("/consultations/{consultation_id}", response_model=ConsultationOut,
            summary="相談記録を見る")
async def get_consultation(consultation_id: uuid.UUID, conn: ConnDep,
                           settings: SettingsDep) -> ConsultationOut:
    row = await store.get(conn, consultation_id, settings.municipality_code)
    if row is None:
        raise Problem(404, "Consultation not found", type_="urn:tsunagu:problem:not-found")
    return ConsultationOut.model_validate({
        **row, "destination": {"kind": row["destination_kind"], "agency": row["destination_agency"]}})
