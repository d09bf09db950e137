"""Routing a consultation to where it goes (つなぐ). Rules only; no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from contracts.events.intake import ConsultationReceived
from contracts.events.referral import ReferralRequested
from contracts.taxonomy import DestinationKind, Urgency, receiving_office


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
