"""Routing a consultation to where it goes (つなぐ). Rules only; no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from contracts.events.intake import ConsultationReceived
from contracts.events.referral import ReferralRequested
from contracts.taxonomy import DestinationKind, Urgency

# Offices that receive consultations when no single agency is named. The promoter (推進員)
# sits in each division; the general desk (福祉総合相談窓口) and the coordinators
# (地域福祉コーディネーター) are city-wide.
GENERAL_DESK = "general-desk"
COORDINATORS = "coordinators"


@dataclass(frozen=True)
class Referral:
    id: uuid.UUID
    consultation_id: uuid.UUID
    destination_kind: DestinationKind
    to_agency: str
    categories: tuple[str, ...]
    urgency: Urgency
    requested_at: datetime
    status: str = "requested"
    events: list[ReferralRequested] = field(default_factory=list, compare=False)


def receiving_office(event: ConsultationReceived) -> str | None:
    """Who must act on a consultation; None when the receiving window handles it itself."""
    match event.destination_kind:
        case "handled_here":
            return None
        case "agency":
            return event.destination_agency
        case "promoter":
            return f"promoter:{event.receiving_division}"
        case "general_desk":
            return GENERAL_DESK
        case "coordinator":
            return COORDINATORS
    raise ValueError(f"unknown destination {event.destination_kind!r}")


def open_routing_task(event: ConsultationReceived, at: datetime) -> Referral | None:
    office = receiving_office(event)
    if office is None:
        return None
    referral = Referral(id=uuid.uuid4(), consultation_id=event.consultation_id,
                        destination_kind=event.destination_kind, to_agency=office,
                        categories=event.categories, urgency=event.urgency, requested_at=at)
    referral.events.append(ReferralRequested(
        referral_id=referral.id, consultation_id=referral.consultation_id, requested_at=at,
        destination_kind=referral.destination_kind, to_agency=office,
        categories=referral.categories, urgency=referral.urgency))
    return referral
