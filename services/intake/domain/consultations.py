"""Consultations at any window (包括的相談支援). Rules only; no I/O.

Never turn away (断らない相談): a consultation is recorded whatever its subject, and it
always leaves the window with somewhere to go: an office of the directory that takes
hand-overs. Handing a person's case to another agency or to a coordinator goes on the common
hand-over form (共通の様式) with the consent of every person it concerns (or their guardian's).
What an agency is handed becomes its own copy; the live record it reads only while a consent
covers it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.events.intake import ConsultationReceived
from contracts.taxonomy import Channel, DestinationKind, Urgency, receiving_office
from kit.policy import Consent, Office

# Destinations a hand-over form takes the person's case to (with their consent).
LEAVES_THE_WINDOW: frozenset[DestinationKind] = frozenset({"agency", "coordinator"})


class NoDestination(ValueError):
    """The consultation would end nowhere, or somewhere that takes no hand-overs."""


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
    consent_ids: tuple[uuid.UUID, ...] = ()


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
            health_notes: str | None = None, to: Office | None = None,
            now: datetime | None = None, consultation_id: uuid.UUID | None = None) -> Consultation:
    """`consents`: (consent id, consent) of the persons concerned, for checking the hand-over;
    `present_ids`: the persons who came to the window themselves; only they, not persons merely
    named, make the window a holder of their record (kit/holders.py); `to`: the receiving office
    as the directory has it (None: not in the directory); `now`: when the hand-over discloses (a
    consent is checked then, whatever date the record bears); `consultation_id`: the id another
    pillar chose for it (an outreach hand-over), so that a redelivery opens no second one."""
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
    _check_destination(destination, receiving_division, to)
    _check_handover(destination, handover, tuple(dict.fromkeys(person_ids)), consents,
                    now or received_at, to)
    c = Consultation(id=consultation_id or uuid.uuid4(), received_at=received_at, channel=channel,
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


def _check_destination(destination: Destination, division: str, to: Office | None) -> None:
    office = receiving_office(destination.kind, destination.agency, division)
    if office is None:
        return
    if to is None or to.office_id != office:
        raise NoDestination(f"「{office}」は機関名簿にありません。名簿 (GET /directory) の引き継ぎを"
                            "受ける機関、推進員、または福祉総合相談窓口につないでください / "
                            f"'{office}' is not in the directory: hand it to an office there that "
                            "takes hand-overs, to your promoter, or to the general desk")
    if not to.takes_handovers:
        raise NoDestination(f"「{office}」は引き継ぎを受けません（受信箱のみ）。名簿の引き継ぎを受ける"
                            "機関、推進員、または福祉総合相談窓口につないでください / "
                            f"'{office}' takes no hand-overs: hand it to an office that does "
                            "(GET /directory), to your promoter, or to the general desk")


def _check_handover(destination: Destination, handover: Handover | None,
                    person_ids: tuple[uuid.UUID, ...], consents: Sequence[tuple[uuid.UUID, Consent]],
                    at: datetime, to: Office | None) -> None:
    leaves_the_city = destination.kind in LEAVES_THE_WINDOW
    if destination.kind == "coordinator" and handover is None:
        raise HandoverRefused("コーディネーターへは共通の様式（主訴・理由・同意）でつないでください / "
                              "a case goes to a coordinator on the common hand-over form "
                              "(共通の様式): main complaint, reason, consent")
    if not (leaves_the_city and person_ids) or to is None:
        return  # nothing identifying leaves the window
    office = to.office_id
    ways = (f"{office}（{to.legal_body_id}）を対象に含む本人または保護者の同意を記録し、共通の様式に"
            "記載してください。同意が得られない場合は支援会議に付議してください / record a consent "
            f"of each person (or their guardian) that covers {office} ({to.legal_body_id}) and name "
            "it on the form; without consent, table it at a 支援会議")
    if handover is None or not handover.consent_ids:
        raise HandoverRefused(f"引き継ぎには本人の同意が必要です / handing a person's case to "
                              f"another agency needs their consent. {ways}")
    named = {cid: c for cid, c in consents if cid in handover.consent_ids}
    strangers = [str(cid) for cid in handover.consent_ids
                 if cid not in named or named[cid].person_id not in person_ids]
    if strangers:
        raise HandoverRefused(f"記載の同意 {strangers} はこの相談の対象者のものではありません / the "
                              f"consents {strangers} are not of a person this consultation concerns")
    uncovered = [str(pid) for pid in person_ids
                 if not any(c.person_id == pid and c.covers(to.place, "support", at)
                            for c in named.values())]
    if uncovered:
        raise HandoverRefused(f"対象者 {uncovered} 本人の同意で、今 {office} への引き継ぎを含むものが"
                              f"ありません（ある人の同意は別の人の同意になりません） / no consent of "
                              f"persons {uncovered} themselves covers handing this to {office} now "
                              f"(one person's consent never covers another). {ways}")


def handed_over_copy(c: Consultation, to: Office, persons: Sequence[dict[str, Any]],
                     consents: Sequence[tuple[uuid.UUID, Consent]], at: datetime) -> dict[str, Any]:
    """What the hand-over discloses to `to`, as it is now: the receiver keeps it as its own copy.
    Health details go along only if every person's consent named on the form covers them."""
    named = [cons for cid, cons in consents if c.handover and cid in c.handover.consent_ids]
    health = bool(c.health_notes) and all(
        any(cons.person_id == pid and cons.covers(to.place, "health", at) for cons in named)
        for pid in c.person_ids)
    return {
        "consultation": {"id": str(c.id), "received_at": c.received_at.isoformat(),
                         "channel": c.channel, "receiving_division": c.receiving_division,
                         "categories": list(c.categories), "urgency": c.urgency,
                         "main_complaint": c.handover.main_complaint if c.handover else c.main_complaint,
                         "reason": c.handover.reason if c.handover else None,
                         "health_notes": c.health_notes if health else None},
        "persons": [{k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "id" else v)
                     for k, v in p.items()} for p in persons],
    }
