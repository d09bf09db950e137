"""An outreach case's stages, as a pure state machine: each command takes the case as it is and
returns the case as it becomes with the events that say so. No I/O.

not_contacted → attempting_contact → contact_made → relationship_building → consent_obtained →
handed_over; any live stage may be paused (and resumed where it was) or ended, with a reason
code. The hand-over needs the person's own consent covering the offices concerned (checked by
the caller with kit.policy.Consent.covers).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal, get_args

from contracts.envelope import EventData
from contracts.events.outreach import (
    ContactAttempted,
    ContactMade,
    Origin,
    OutreachEnded,
    OutreachHandedOver,
    OutreachStageChanged,
    OutreachStarted,
    Stage,
)

Method = Literal["visit", "letter", "phone", "via_neighbour", "via_commissioner"]
Outcome = Literal["no_answer", "note_left", "refused", "contact_made"]
SupportAction = Literal["home_visit", "accompaniment"]  # recorded in the case, no event
METHODS: frozenset[str] = frozenset(get_args(Method))
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))
PAUSE_REASONS = frozenset({"person_asked", "hospitalised", "safety", "other"})
END_REASONS = frozenset({"reached_elsewhere", "moved_away", "died", "declined_repeatedly",
                         "no_longer_needed", "other",
                         "decision_corrected"})  # the meeting's decision that opened it was superseded
LIVE: frozenset[Stage] = frozenset({"not_contacted", "attempting_contact", "contact_made",
                                    "relationship_building"})
HANDS_OVER_FROM: frozenset[Stage] = frozenset({"contact_made", "relationship_building"})
Move = Literal["build_relationship", "pause", "resume", "end"]


class CaseRuleBroken(ValueError):
    """A command the case's stage or the vocabulary refuses."""


@dataclass(frozen=True)
class Case:
    id: uuid.UUID
    office: str
    stage: Stage = "not_contacted"
    paused_from: Stage | None = None
    person_id: uuid.UUID | None = None
    identified: bool = False  # a named person or a person record: 支援会議 material

    def facts(self, at: datetime) -> dict[str, Any]:
        return {"outreach_case_id": self.id, "office": self.office, "at": at,
                "identified": self.identified}


def start(office: str, origin: Origin, at: datetime, origin_id: uuid.UUID | None = None,
          person_id: uuid.UUID | None = None, named: bool = False,
          worker: str | None = None) -> tuple[Case, list[EventData]]:
    case = Case(uuid.uuid4(), office, person_id=person_id, identified=named or person_id is not None)
    return case, [OutreachStarted(**case.facts(at), origin=origin, origin_id=origin_id,
                                  person_id=person_id, worker=worker)]


def _to(case: Case, stage: Stage, at: datetime, reason: str | None = None,
        **changes: object) -> tuple[Case, list[EventData]]:
    moved = replace(case, stage=stage, **changes)  # type: ignore[arg-type]
    return moved, [OutreachStageChanged(**case.facts(at), from_stage=case.stage, to_stage=stage,
                                        reason=reason)]


def attempt(case: Case, method: str, outcome: str, at: datetime,
            next_attempt_on: date | None = None) -> tuple[Case, list[EventData]]:
    if method not in METHODS or outcome not in OUTCOMES:
        raise CaseRuleBroken(f"method must be one of {sorted(METHODS)}, outcome one of {sorted(OUTCOMES)}")
    if case.stage not in LIVE:
        raise CaseRuleBroken(f"a {case.stage} case takes no contact attempts")
    if next_attempt_on is not None and next_attempt_on < at.date():
        raise CaseRuleBroken("the next attempt cannot be planned in the past")
    events: list[EventData] = [ContactAttempted(**case.facts(at), method=method, outcome=outcome,
                                                next_attempt_on=next_attempt_on)]
    if outcome == "contact_made" and case.stage in ("not_contacted", "attempting_contact"):
        case, changed = _to(case, "contact_made", at)
        return case, [*events, ContactMade(**case.facts(at), method=method), *changed]
    if case.stage == "not_contacted":
        case, changed = _to(case, "attempting_contact", at)
        return case, [*events, *changed]
    return case, events


def move(case: Case, action: Move, at: datetime, reason: str | None = None) -> tuple[Case, list[EventData]]:
    if action == "build_relationship":
        if case.stage != "contact_made":
            raise CaseRuleBroken("relationship building follows the first contact")
        return _to(case, "relationship_building", at)
    if action == "resume":
        if case.stage != "paused" or case.paused_from is None:
            raise CaseRuleBroken("only a paused case resumes")
        return _to(case, case.paused_from, at, paused_from=None)
    allowed = PAUSE_REASONS if action == "pause" else END_REASONS
    if reason not in allowed:
        raise CaseRuleBroken(f"{action} needs a reason, one of {sorted(allowed)}")
    if action == "pause":
        if case.stage not in LIVE:
            raise CaseRuleBroken(f"a {case.stage} case cannot be paused")
        return _to(case, "paused", at, reason, paused_from=case.stage)
    if case.stage not in LIVE | {"paused"}:
        raise CaseRuleBroken(f"a {case.stage} case cannot be ended")
    ended, events = _to(case, "ended", at, reason, paused_from=None)
    return ended, [*events, OutreachEnded(**case.facts(at), reason=reason)]


def hand_over(case: Case, consent_id: uuid.UUID, to_office: str, categories: tuple[str, ...],
              at: datetime) -> tuple[Case, list[EventData]]:
    """Consent obtained, then handed over: intake opens a consultation with what is shared."""
    if case.stage not in HANDS_OVER_FROM or case.person_id is None:
        raise CaseRuleBroken("a case is handed over once contact is made with a known person")
    consented, first = _to(case, "consent_obtained", at)
    handed, second = _to(consented, "handed_over", at)
    return handed, [*first, *second, OutreachHandedOver(
        outreach_case_id=case.id, consultation_id=uuid.uuid4(), person_id=case.person_id,
        consent_id=consent_id, office=case.office, to_office=to_office,
        categories=categories, handed_over_at=at)]
