"""Consultations at any window (包括的相談支援). Rules only; no I/O.

Never turn away (断らない相談): a consultation is recorded whatever its subject, and it
always leaves the window with somewhere to go. Handing a person's case to another agency or
to a coordinator goes on the common hand-over form (共通の様式) with the consent it relies on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.events.intake import ConsultationReceived
from contracts.taxonomy import Channel, DestinationKind, Urgency, receiving_office
from kit.policy import Consent


class NoDestination(ValueError):
    """The consultation would end nowhere."""


class HandoverRefused(ValueError):
    """The hand-over form is missing, or the consent it names does not cover the hand-over."""


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
class Handover:
    """共通の様式: what the receiving side needs, and the consent that allows sharing it."""

    main_complaint: str
    reason: str
    consent_id: uuid.UUID | None = None


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
    person_ids: tuple[uuid.UUID, ...] = ()
    present_ids: tuple[uuid.UUID, ...] = ()  # of person_ids, those who came themselves (本人来所)
    household_id: uuid.UUID | None = None
    handover: Handover | None = None
    intake_sheet: dict[str, Any] = field(default_factory=dict)
    health_notes: str | None = None
    events: list[ConsultationReceived] = field(default_factory=list, compare=False)


def receive(*, received_at: datetime, channel: Channel, receiving_division: str,
            received_by: str, main_complaint: str, categories: tuple[str, ...], urgency: Urgency,
            destination: Destination | None, known_categories: frozenset[str],
            person_ids: tuple[uuid.UUID, ...] = (), present_ids: tuple[uuid.UUID, ...] = (),
            household_id: uuid.UUID | None = None,
            handover: Handover | None = None, consents: Sequence[tuple[uuid.UUID, Consent]] = (),
            intake_sheet: dict[str, Any] | None = None,
            health_notes: str | None = None) -> Consultation:
    """`consents`: (consent id, consent) of the persons concerned, for checking the hand-over.
    `present_ids`: the persons who came to the window themselves; only they, not persons merely
    named, make the window a holder of their record (kit/holders.py)."""
    if destination is None:
        raise NoDestination("a consultation must leave the window with somewhere to go: "
                            "handled here, an agency, the promoter, the general desk or a "
                            "coordinator")
    if not main_complaint.strip():
        raise ValueError("the main complaint (主訴) is required")
    unknown = set(categories) - known_categories
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}: see GET /categories")
    if not set(present_ids) <= set(person_ids):
        raise ValueError("present_ids (本人来所) must be persons linked to the consultation")
    _check_handover(destination, handover, person_ids, consents, received_at, receiving_division)
    c = Consultation(id=uuid.uuid4(), received_at=received_at, channel=channel,
                     receiving_division=receiving_division, received_by=received_by,
                     main_complaint=main_complaint.strip(),
                     categories=tuple(dict.fromkeys(categories)), urgency=urgency,
                     destination=destination, person_ids=tuple(dict.fromkeys(person_ids)),
                     present_ids=tuple(dict.fromkeys(present_ids)),
                     household_id=household_id, handover=handover,
                     intake_sheet=intake_sheet or {}, health_notes=health_notes)
    c.events.append(ConsultationReceived(
        consultation_id=c.id, received_at=received_at, channel=channel,
        receiving_division=receiving_division, categories=c.categories, urgency=urgency,
        destination_kind=destination.kind, destination_agency=destination.agency,
        person_ids=c.person_ids, present_ids=c.present_ids, household_id=household_id))
    return c


def _check_handover(destination: Destination, handover: Handover | None,
                    person_ids: tuple[uuid.UUID, ...], consents: Sequence[tuple[uuid.UUID, Consent]],
                    at: datetime, division: str) -> None:
    leaves_the_city = destination.kind in ("agency", "coordinator")
    if destination.kind == "coordinator" and handover is None:
        raise HandoverRefused("a case goes to a coordinator on the common hand-over form "
                              "(共通の様式): main complaint, reason, consent")
    if not (leaves_the_city and person_ids):
        return  # nothing identifying leaves the window
    if handover is None or handover.consent_id is None:
        raise HandoverRefused("handing a person's case to another agency needs their consent "
                              "to share, named on the hand-over form")
    office = receiving_office(destination.kind, destination.agency, division) or ""
    named = [c for cid, c in consents if cid == handover.consent_id]
    if not named or not named[0].covers(office, "support", at):
        raise HandoverRefused(f"consent {handover.consent_id} does not cover handing this case "
                              f"to '{office}' now (check its agencies, purpose, expiry, withdrawal)")
    if named[0].person_id not in person_ids:
        raise HandoverRefused("the consent named is not of a person concerned by this consultation")
