"""Routing a consultation to where it goes (つなぐ), and the directory of where it can go.
Rules only; no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events.intake import ConsultationReceived
from contracts.events.referral import (
    DirectoryChanged,
    DirectoryLegalBody,
    DirectoryOffice,
    ReferralRequested,
)
from contracts.taxonomy import DestinationKind, LegalBodyKind, OfficeKind, Urgency, receiving_office


@dataclass(frozen=True)
class Referral:
    id: uuid.UUID
    consultation_id: uuid.UUID
    destination_kind: DestinationKind
    to_agency: str
    categories: tuple[str, ...]
    urgency: Urgency
    requested_at: datetime
    from_division: str = ""
    person_ids: tuple[uuid.UUID, ...] = ()
    status: str = "requested"
    events: list[ReferralRequested] = field(default_factory=list, compare=False)


def open_routing_task(event: ConsultationReceived, at: datetime) -> Referral | None:
    office = receiving_office(event.destination_kind, event.destination_agency,
                              event.receiving_division)
    if office is None:
        return None
    referral = Referral(id=uuid.uuid4(), consultation_id=event.consultation_id,
                        destination_kind=event.destination_kind, to_agency=office,
                        categories=event.categories, urgency=event.urgency, requested_at=at,
                        from_division=event.receiving_division, person_ids=event.person_ids)
    referral.events.append(ReferralRequested(
        referral_id=referral.id, consultation_id=referral.consultation_id, requested_at=at,
        destination_kind=referral.destination_kind, to_agency=office,
        categories=referral.categories, urgency=referral.urgency))
    return referral


# -- the directory (legal bodies, offices, who staffs them) ---------------------------------
_ID = r"^[a-z0-9][a-z0-9:_-]{0,99}$"


class LegalBodyIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    kind: LegalBodyKind
    label: str = Field(min_length=1, max_length=200)
    participating: bool


class OfficeIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    legal_body: str
    kind: OfficeKind
    label: str = Field(min_length=1, max_length=200)
    takes_handovers: bool
    staff: tuple[str, ...] = ()


class DirectoryFile(BaseModel):
    """The file an operator edits (services/referral/directory.json)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    legal_bodies: tuple[LegalBodyIn, ...] = Field(min_length=1)
    offices: tuple[OfficeIn, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DirectoryFile:
        bodies = [b.id for b in self.legal_bodies]
        offices = [o.id for o in self.offices]
        twice = {i for i in bodies + offices if (bodies + offices).count(i) > 1}
        if twice:  # a consent scope names either: one id, one meaning
            raise ValueError(f"ids used twice: {sorted(twice)}")
        orphans = sorted({o.legal_body for o in self.offices} - set(bodies))
        if orphans:
            raise ValueError(f"offices name unknown legal bodies: {orphans}")
        return self


def directory_changed(directory: DirectoryFile, revision: int, at: datetime) -> DirectoryChanged:
    """The event every service's view is fed by: ids and routing facts, no labels."""
    return DirectoryChanged(
        revision=revision, changed_at=at,
        legal_bodies=tuple(DirectoryLegalBody(legal_body_id=b.id, kind=b.kind,
                                              participating=b.participating)
                           for b in directory.legal_bodies),
        offices=tuple(DirectoryOffice(office_id=o.id, legal_body_id=o.legal_body, kind=o.kind,
                                      takes_handovers=o.takes_handovers,
                                      staff_user_ids=tuple(dict.fromkeys(o.staff)))
                      for o in directory.offices))
