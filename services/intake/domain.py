"""Consultations at any window (包括的相談支援). Rules only; no I/O.

Never turn away (断らない相談): a consultation is recorded whatever its subject, and it
always leaves the window with somewhere to go.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from contracts.events.intake import ConsultationReceived
from contracts.taxonomy import Channel, DestinationKind, Urgency


class NoDestination(ValueError):
    """The consultation would end nowhere."""


@dataclass(frozen=True)
class Destination:
    kind: DestinationKind
    agency: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "agency" and not self.agency:
            raise NoDestination("a hand-over to an agency must name the agency")
        if self.kind != "agency" and self.agency:
            raise NoDestination(f"destination '{self.kind}' does not take an agency")


@dataclass(frozen=True)
class Consultation:
    id: uuid.UUID
    received_at: datetime
    channel: Channel
    receiving_division: str
    received_by: str
    main_complaint: str  # 主訴, in the person's words: stays in intake
    categories: tuple[str, ...]
    urgency: Urgency
    destination: Destination
    events: list[ConsultationReceived] = field(default_factory=list, compare=False)


def receive(*, received_at: datetime, channel: Channel, receiving_division: str,
            received_by: str, main_complaint: str, categories: tuple[str, ...], urgency: Urgency,
            destination: Destination | None) -> Consultation:
    if destination is None:
        raise NoDestination("a consultation must leave the window with somewhere to go: "
                            "handled here, an agency, the promoter, the general desk or a "
                            "coordinator")
    if not main_complaint.strip():
        raise ValueError("the main complaint (主訴) is required")
    c = Consultation(id=uuid.uuid4(), received_at=received_at, channel=channel,
                     receiving_division=receiving_division, received_by=received_by,
                     main_complaint=main_complaint.strip(),
                     categories=tuple(dict.fromkeys(categories)), urgency=urgency,
                     destination=destination)
    c.events.append(ConsultationReceived(
        consultation_id=c.id, received_at=received_at, channel=channel,
        receiving_division=receiving_division, categories=c.categories, urgency=urgency,
        destination_kind=destination.kind, destination_agency=destination.agency))
    return c
