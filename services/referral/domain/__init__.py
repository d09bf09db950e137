"""Routing a consultation to where it goes (つなぐ); the directory of where it can go is
./directory.py, its community resources ./resources.py. Rules only; no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from contracts.envelope import EventData
from contracts.events.intake import ConsultationReceived
from contracts.events.referral import (
    EscalatedToCoordinator,
    EscalatedToPromoter,
    ReferralAccepted,
    ReferralCompleted,
    ReferralDeclined,
    ReferralRequested,
    ReferralStarted,
    ReferralWithdrawn,
)
from contracts.taxonomy import DestinationKind, Urgency, receiving_office
from kit import workdays
from kit.policy import Consent, Office

from .directory import DirectoryFile as DirectoryFile
from .directory import directory_changed as directory_changed

ANSWER_WORKING_DAYS = 5  # unanswered this many of the city's working days: overdue
FOLLOW_UP_WORKING_DAYS = 5  # completed without an outcome this long: follow up


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
    reason: str | None = None
    referred_by: str | None = None
    escalated_from: uuid.UUID | None = None
    answer_due_at: datetime | None = None
    events: list[EventData] = field(default_factory=list, compare=False)


def open_routing_task(event: ConsultationReceived, at: datetime,
                      answer_days: int = ANSWER_WORKING_DAYS) -> Referral | None:
    office = receiving_office(event.destination_kind, event.destination_agency,
                              event.receiving_division)
    if office is None:
        return None
    referral = Referral(id=uuid.uuid4(), consultation_id=event.consultation_id,
                        destination_kind=event.destination_kind, to_agency=office,
                        categories=event.categories, urgency=event.urgency, requested_at=at,
                        from_division=event.receiving_division, person_ids=event.person_ids,
                        answer_due_at=workdays.deadline(at, answer_days))
    referral.events.append(ReferralRequested(
        referral_id=referral.id, consultation_id=referral.consultation_id, requested_at=at,
        destination_kind=referral.destination_kind, to_agency=office,
        categories=referral.categories, urgency=referral.urgency))
    return referral


# -- referrals a holder makes, and their lifecycle -------------------------------------------
Reason = Literal["specialist_support", "eligibility_check", "ongoing_support",
                 "several_agencies", "unclear_where_to_go"]
DeclineReason = Literal["not_eligible", "no_capacity", "could_not_contact", "referred_elsewhere",
                        "person_declined"]
Outcome = Literal["got_help", "partly", "not_helped"]
Action = Literal["accept", "decline", "start", "complete", "withdraw"]
# action -> (the states it may leave, the state it reaches)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({"requested"}), "accepted"),
    "decline": (frozenset({"requested"}), "declined"),
    "start": (frozenset({"accepted"}), "in_progress"),
    # a promoter answers what reached their inbox without taking it on first
    "complete": (frozenset({"requested", "accepted", "in_progress"}), "completed"),
    "withdraw": (frozenset({"requested", "accepted", "in_progress"}), "withdrawn"),
}
RECEIVER_ACTIONS = frozenset(get_args(Action)) - {"withdraw"}  # the rest is the referrer's
PROMOTER_KINDS, COORDINATOR_KINDS = frozenset({"promoter_desk"}), frozenset({"general_desk", "coordinators"})
DESTINATION_OF: dict[str, DestinationKind] = {"promoter_desk": "promoter", "general_desk": "general_desk",
                                              "coordinators": "coordinator"}


class ReferralRuleBroken(Exception):
    """A referral this rule forbids; the message names the way forward (Japanese, English)."""


class NotCovered(ReferralRuleBroken):
    def __init__(self, office: str, persons: list[uuid.UUID]) -> None:
        self.persons = persons
        super().__init__(
            f"{office} を対象とする本人の同意がない人がいます（{len(persons)}人）。本人の同意を得て記録する"
            f"（同意の範囲に {office} またはその法人を含める）か、支援会議に付議するか、本人に直接 {office} "
            f"へ相談するよう案内してください / the consent of {len(persons)} person(s) does not cover "
            f"{office}: record a consent that covers it (or its legal body), table the case at a "
            f"支援会議, or let the person contact {office} themselves")


def refer(consultation_id: uuid.UUID, person_ids: tuple[uuid.UUID, ...], categories: tuple[str, ...],
          urgency: Urgency, from_office: str, to: Office, reason: Reason, referred_by: str,
          consents: tuple[Consent, ...], at: datetime,
          escalated_from: uuid.UUID | None = None,
          answer_days: int = ANSWER_WORKING_DAYS) -> Referral:
    """A referral of an existing consultation: to an office that takes hand-overs, sharing only
    what every person's consent covers (nothing is shared when someone's does not)."""
    if not to.takes_handovers:
        raise ReferralRuleBroken(f"{to.office_id} は引継ぎを受けない窓口です。名簿で受け付ける窓口を選んで"
                                 f"ください / {to.office_id} takes no hand-overs: choose an office "
                                 f"that does (GET /directory)")
    if to.office_id == from_office:
        raise ReferralRuleBroken("自分の窓口にはつなげません / an office does not refer to itself")
    uncovered = [p for p in person_ids
                 if not any(c.person_id == p and c.covers(to.place, "support", at) for c in consents)]
    if uncovered:
        raise NotCovered(to.office_id, uncovered)
    kind = DESTINATION_OF.get(to.kind, "agency")
    r = Referral(id=uuid.uuid4(), consultation_id=consultation_id, destination_kind=kind,
                 to_agency=to.office_id, categories=categories, urgency=urgency, requested_at=at,
                 from_division=from_office, person_ids=person_ids, reason=reason,
                 referred_by=referred_by, escalated_from=escalated_from,
                 answer_due_at=workdays.deadline(at, answer_days))
    r.events.append(ReferralRequested(
        referral_id=r.id, consultation_id=consultation_id, requested_at=at,
        destination_kind=kind, to_agency=to.office_id, categories=categories,
        urgency=urgency, from_office=from_office, reason=reason))
    ladder = (EscalatedToPromoter if to.kind in PROMOTER_KINDS
              else EscalatedToCoordinator if to.kind in COORDINATOR_KINDS else None)
    if ladder is not None:
        r.events.append(ladder(referral_id=r.id, consultation_id=consultation_id,
                               from_office=from_office, to_office=to.office_id, at=at,
                               escalated_from=escalated_from))
    return r


def move(referral_id: uuid.UUID, consultation_id: uuid.UUID, from_office: str, to_office: str,
         status: str, action: Action, at: datetime, decline_reason: DeclineReason | None = None,
         outcome: Outcome | None = None, has_outcome: bool = False) -> tuple[str, EventData]:
    """The state a lifecycle action reaches, and the event telling both offices. A completion
    may come before its outcome is known; the outcome is then recorded by completing again."""
    leaves, reaches = MOVES[action]
    late_outcome = action == "complete" and status == "completed" and not has_outcome
    if status not in leaves and not late_outcome:
        raise ReferralRuleBroken(f"{status} のつなぎは {action} できません / a referral that is "
                                 f"{status} cannot be {action}ed")
    facts: dict[str, Any] = dict(referral_id=referral_id, consultation_id=consultation_id,
                 from_office=from_office, to_office=to_office, at=at)
    if action == "decline":
        if decline_reason is None:
            raise ReferralRuleBroken("断る理由を選んでください / a decline needs a reason code")
        return reaches, ReferralDeclined(**facts, decline_reason=decline_reason)
    if action == "complete":
        if late_outcome and outcome is None:
            raise ReferralRuleBroken("結果を選んでください / choose the outcome")
        return reaches, ReferralCompleted(**facts, outcome=outcome)
    plain = {"accept": ReferralAccepted, "start": ReferralStarted, "withdraw": ReferralWithdrawn}
    return reaches, plain[action](**facts)


def follow_up_due(completed_at: datetime, days: int = FOLLOW_UP_WORKING_DAYS) -> datetime:
    return workdays.deadline(completed_at, days)
