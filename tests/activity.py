"""A generated month of the city's activity across the services, as their owners publish it:
CloudEvents in binary mode, each sent with its owning service's principal, and beside it what a
clerk would count from the same events, written out by hand (not through the indicator table),
so tests/test_statistics.py and bench/statistics.py compare the stream with an independent count.
"""

from __future__ import annotations

import asyncio
import calendar
import itertools
import random
import statistics
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope, EventData
from contracts.events.access import BreakGlassAccessed
from contracts.events.intake import ConsultationReceived
from contracts.events.meetings import (
    CaseTabled,
    DecisionCorrected,
    DecisionKind,
    Evaluation,
    MeetingDecided,
    MeetingHeld,
)
from contracts.events.outreach import (
    ConcernReported,
    ContactAttempted,
    ContactMade,
    Origin,
    OutreachEnded,
    OutreachStageChanged,
    OutreachStarted,
    PartnerAgreed,
    Stage,
)
from contracts.events.plans import (
    AssessmentCompleted,
    ConnectionCheckDue,
    LeadChanged,
    PlanApproved,
    PlanClosed,
    PlanDrafted,
    PlanReviewed,
)
from contracts.events.referral import (
    EscalatedToCoordinator,
    EscalatedToPromoter,
    FollowUpDue,
    PlacementStable,
    PlacementStarted,
    ReferralAccepted,
    ReferralCompleted,
    ReferralDeclined,
    ReferralRequested,
    ResourceMatched,
)
from contracts.registry import SHARED_TOPIC, source, spec_for
from contracts.taxonomy import Channel, DestinationKind

JST = ZoneInfo("Asia/Tokyo")
CITY = "132187"
CHANNELS: tuple[Channel, ...] = ("visit", "phone", "home_visit", "mail", "agency_referral",
                                 "partner_report", "outreach")
WINDOWS = ("div-kaigo", "div-shogai", "div-kosodate")
CATEGORIES = ("elderly_care", "8050", "child_rearing", "young_carer", "social_withdrawal", "poverty")
DESTINATIONS: tuple[DestinationKind, ...] = ("agency", "general_desk", "coordinator", "promoter")
# on notifications.events, which no service but statistics reads: nobody else dead-letters it
UNKNOWN_TYPE = "jp.tsunagu.notifications.something_new.v1"
Key = tuple[str, str, str]  # (indicator, breakdown, month)


@dataclass
class Activity:
    month: str
    records: list[tuple[str, str, EventData, Envelope]] = field(default_factory=list)
    expected: Counter[Key] = field(default_factory=Counter)
    answer_days: list[int] = field(default_factory=list)
    person_ids: set[str] = field(default_factory=set)  # none may appear in any output

    def add(self, event: EventData, service: str | None = None, type_: str | None = None) -> None:
        """`event` as `service` (its owner unless told) publishes it on that service's stream."""
        spec = spec_for(event)
        service = service or spec.service
        env = Envelope(id=uuid.uuid4(), type=type_ or spec.ce_type, source=source(service),
                       time=_instant(event), subject=spec.key(event), dataschema=spec.dataschema,
                       sensitivity=event.sensitivity_label() or spec.sensitivity, municipality=CITY)
        topic = spec.topic if service == spec.service or spec.topic == SHARED_TOPIC else f"{service}.events"
        self.records.append((service, topic, event, env))

    def count(self, indicator: str, breakdown: str = "") -> None:
        self.expected[(indicator, breakdown, self.month)] += 1

    def figures(self) -> dict[Key, float]:
        """What the report shows for the month (medians as the median and their count)."""
        out: dict[Key, float] = dict(self.expected)
        if self.answer_days:
            out[("referral_answer_workdays", "median", self.month)] = statistics.median(self.answer_days)
            out[("referral_answer_workdays", "n", self.month)] = len(self.answer_days)
        return out


def _instant(event: EventData) -> datetime:
    for name in ("received_at", "requested_at", "at", "held_at", "tabled_at", "decided_at",
                 "corrected_at", "accessed_at", "completed_at", "drafted_at", "approved_at",
                 "reviewed_at", "closed_at", "reported_at", "matched_at", "started_at",
                 "stable_at", "registered_at", "effective_at", "due_at"):
        value = getattr(event, name, None)
        if isinstance(value, datetime):
            return value
    raise ValueError(type(event).__name__)


def _person(a: Activity) -> uuid.UUID:
    pid = uuid.uuid4()
    a.person_ids.add(str(pid))
    return pid


def _mondays(year: int, month: int) -> list[date]:
    d = date(year, month, 1)
    days = [d + timedelta(n) for n in range(28)]
    return [x for x in days if x.weekday() == 0][:3]


def month_of_activity(year: int, month: int, consultations: int, seed: int = 17) -> Activity:
    """`consultations` consultations, half as many referrals with their answers, meetings,
    decisions, break-glass reads and one event of a type no contract names. Working days: a
    referral is requested on a Monday and answered 1-4 weekdays later (no holiday in between
    in the months tests use: June and July)."""
    rnd = random.Random(seed)
    a = Activity(f"{year}-{month:02d}")
    mondays = _mondays(year, month)

    def at(day: date, hour: int = 10) -> datetime:
        return datetime.combine(day, time(hour), JST)

    for i in range(consultations):
        channel, window = CHANNELS[i % len(CHANNELS)], WINDOWS[i % len(WINDOWS)]
        cats = tuple(rnd.sample(CATEGORIES, rnd.randint(1, 3)))
        people = (_person(a),) * rnd.randint(0, 1) + (_person(a),)
        a.add(ConsultationReceived(consultation_id=uuid.uuid4(), received_at=at(mondays[i % 3], 9),
                                   channel=channel, receiving_division=window, categories=cats,
                                   urgency="normal", destination_kind="handled_here",
                                   person_ids=people, present_ids=people[:1]))
        a.count("consultations")
        a.count("consultations_by_channel", channel)
        a.count("consultations_by_window", window)
        for c in cats:
            a.count("consultations_by_category", c)
    for i in range(consultations // 2):
        rid, cid, dest = uuid.uuid4(), uuid.uuid4(), DESTINATIONS[i % len(DESTINATIONS)]
        asked = mondays[i % 3]
        a.add(ReferralRequested(referral_id=rid, consultation_id=cid, requested_at=at(asked),
                                destination_kind=dest, to_agency="houkatsu-1", categories=("8050",),
                                urgency="normal"))
        a.count("referrals_requested", dest)
        if dest in ("general_desk", "coordinator"):
            a.count("handed_to_coordinators", dest)
        days = 1 + i % 4
        answer: dict[str, Any] = {"referral_id": rid, "consultation_id": cid, "from_office": "div-kaigo",
                                  "to_office": "houkatsu-1", "at": at(asked + timedelta(days), 15)}
        if i % 3 == 2:
            a.add(ReferralDeclined(**answer, decline_reason="no_capacity"))
            a.count("referrals_by_outcome", "ReferralDeclined")
        else:
            a.add(ReferralAccepted(**answer))
            a.count("referrals_by_outcome", "ReferralAccepted")
            outcome = ("got_help", "not_helped")[i % 2]
            a.add(ReferralCompleted(**{**answer, "at": answer["at"] + timedelta(hours=1)}, outcome=outcome))
            a.count("referrals_by_outcome", "ReferralCompleted")
            a.count("referrals_completed_by_outcome", outcome)
        a.answer_days.append(days)
    _escalations(a, at(mondays[0], 11))
    _meetings(a, at(mondays[1], 14), rnd)
    _plans(a, at(mondays[1], 16))
    _outreach(a, at(mondays[2], 11))
    _partners(a, year, month, at(mondays[0], 13))
    _participation(a, at(mondays[2], 15))
    for _ in range(2):
        a.add(BreakGlassAccessed(audit_id=uuid.uuid4(), service="intake", user_id="w-kaigo",
                                 agency="div-kaigo", object_type="person", object_id=str(_person(a)),
                                 reason="救急搬送の連絡があり家族の連絡先を確認", accessed_at=at(mondays[2])),
              service="intake")
        a.count("break_glass", "intake")
    a.add(CaseTabled(meeting_id=uuid.uuid4(), kind="support_meeting", person_ids=(_person(a),),
                     tabled_at=at(mondays[0])), service="notifications", type_=UNKNOWN_TYPE)
    a.count("unknown_event_types", UNKNOWN_TYPE)
    return a


def _escalations(a: Activity, when: datetime) -> None:
    """Window staff escalating (断らない相談窓口): each window to its promoter, two to the general
    desk or the coordinators. Left unanswered, and sent to offices of this month alone: their
    notifications land in no inbox another test reads."""
    ladder: tuple[tuple[str, DestinationKind], ...] = (
        *((w, "promoter") for w in WINDOWS), (WINDOWS[0], "coordinator"), (WINDOWS[1], "general_desk"))
    for window, dest in ladder:
        rid, cid, to = uuid.uuid4(), uuid.uuid4(), f"{dest}-{a.month}"
        a.add(ReferralRequested(referral_id=rid, consultation_id=cid, requested_at=when,
                                destination_kind=dest, to_agency=to, categories=("8050",),
                                urgency="normal", from_office=window,
                                reason="unclear_where_to_go" if dest == "promoter" else "several_agencies"))
        a.count("referrals_requested", dest)
        answer: dict[str, Any] = {"referral_id": rid, "consultation_id": cid, "from_office": window,
                                  "to_office": to, "at": when}
        if dest == "promoter":
            a.add(EscalatedToPromoter(**answer))
            a.count("escalated_to_promoter", window)
        else:
            a.add(EscalatedToCoordinator(**answer))
            a.count("escalated_to_coordinator", window)
            a.count("handed_to_coordinators", dest)


def _meetings(a: Activity, when: datetime, rnd: random.Random) -> None:
    decisions: tuple[tuple[DecisionKind, Evaluation | None], ...] = (
        ("approve_plan", None), ("close", "met"), ("close", "partly_met"),
        ("start_participation_support", None), ("start_outreach", None), ("resource_gap", None))
    for kind in ("multilayer_meeting", "multilayer_meeting", "support_meeting"):
        mid = uuid.uuid4()
        a.add(MeetingHeld(meeting_id=mid, kind=kind, attendee_ids=("c-desk",), held_at=when))
        a.count("multilayer_meetings_held" if kind == "multilayer_meeting" else "support_meetings_held")
        a.add(CaseTabled(meeting_id=mid, kind=kind, person_ids=(_person(a),), tabled_at=when))
        a.count("cases_tabled", kind)
        if kind == "support_meeting":
            a.add(MeetingDecided(decision_id=uuid.uuid4(), meeting_id=mid, meeting_kind=kind,
                                 kind="start_outreach", person_ids=(_person(a),), decided_at=when))
            a.count("support_meeting_decisions")
            continue
        for decision, evaluation in rnd.sample(decisions, 4):
            did = uuid.uuid4()
            a.add(MeetingDecided(decision_id=did, meeting_id=mid, meeting_kind=kind, kind=decision,
                                 person_ids=(_person(a),), evaluation=evaluation, decided_at=when))
            a.count("decisions_by_kind", decision)
            if decision == "close":
                a.count("plans_closed_by_evaluation", evaluation or "")
        a.add(DecisionCorrected(decision_id=did, superseded_by=uuid.uuid4(), meeting_id=mid,
                                meeting_kind=kind, corrected_at=when))
        a.count("decisions_corrected")


def _plans(a: Activity, when: datetime) -> None:
    """Three plans: each assessed, drafted and approved with its lead set; one revised and
    re-approved; one closed after its lead changed to an office of this month alone, which is
    then told its first stay-connected contact is due (the reminder lands in no inbox another
    test reads)."""
    evaluations: tuple[Evaluation | None, ...] = (None, "partly_met", None)
    for n, evaluation in enumerate(evaluations):
        person, plan = (_person(a),), uuid.uuid4()
        a.add(AssessmentCompleted(assessment_id=uuid.uuid4(), person_ids=person, office="div-kaigo",
                                  completed_at=when))
        a.count("assessments_completed")
        lead = {"lead_agency": "div-kaigo", "lead_worker": "w-kaigo"}
        versions = 2 if n == 2 else 1
        for version in range(1, versions + 1):
            if version > 1:
                a.add(PlanReviewed(plan_id=plan, version=version, reviewed_at=when))
                a.count("plans_revised")
            a.add(PlanDrafted(plan_id=plan, version=version, person_ids=person, office="div-kaigo",
                              team_agencies=("div-kaigo",), drafted_at=when, **lead))
            if version == 1:
                a.count("plans_made")
            a.add(PlanApproved(plan_id=plan, version=version, decision_id=uuid.uuid4(),
                               meeting_id=uuid.uuid4(), approved_at=when, **lead))
            a.count("plans_approved")
        a.add(LeadChanged(person_id=person[0], decision_id=uuid.uuid4(), plan_id=plan, effective_at=when,
                          **lead))
        a.count("leads_set", "div-kaigo")
        if evaluation:
            later = {"lead_agency": f"shakyo-{a.month}", "lead_worker": f"cw-{a.month}"}
            a.add(LeadChanged(person_id=person[0], decision_id=uuid.uuid4(), plan_id=plan, effective_at=when,
                              previous_agency="div-kaigo", previous_worker="w-kaigo", **later))
            a.count("leads_set", later["lead_agency"])
            a.add(PlanClosed(plan_id=plan, version=1, decision_id=uuid.uuid4(), evaluation=evaluation,
                             closed_at=when))
            a.count("plans_closed", evaluation)
            a.add(ConnectionCheckDue(plan_id=plan, check_number=1, due_at=when + timedelta(days=1), **later))
            a.count("connection_checks_due", "1")


def _outreach(a: Activity, when: datetime) -> None:
    """Concern reports, two outreach cases with their contacts and stages (the first attempt
    moves a case to attempting_contact), one building a relationship, one ended (no hand-over:
    intake would open a consultation from it, so no consent_obtained either)."""
    for urgency in ("low", "low", "normal"):
        a.add(ConcernReported(report_id=uuid.uuid4(), partner_office="minsei", seen=("mail_piling_up",),
                              urgency=urgency, seen_at=when, reported_at=when))
        a.count("concern_reports", urgency)
    starts: tuple[tuple[Origin, tuple[str, ...]], ...] = (
        ("report", ("visit", "letter", "visit")), ("meeting", ("phone",)))
    for origin, methods in starts:
        case: dict[str, Any] = {"outreach_case_id": uuid.uuid4(), "office": "coordinators", "at": when}
        a.add(OutreachStarted(**case, origin=origin))
        a.count("outreach_started", origin)
        for method in methods:
            a.add(ContactAttempted(**case, method=method, outcome="no_answer"))
            a.count("outreach_contacts", method)
        stages: list[Stage] = ["not_contacted", "attempting_contact"]
        if origin == "report":
            a.add(ContactMade(**case, method="visit"))
            a.count("outreach_contacts_made")
            stages += ["contact_made", "relationship_building"]
        else:
            a.add(OutreachEnded(**case, reason="moved_away"))
            a.count("outreach_ended", "moved_away")
            stages.append("ended")
        for before, after in itertools.pairwise(stages):
            a.add(OutreachStageChanged(**case, from_stage=before, to_stage=after,
                                       reason="moved_away" if after == "ended" else None))
            a.count("outreach_stage_changes", after)


def _partners(a: Activity, year: int, month: int, when: datetime) -> None:
    """Watch-over agreements that all end within the month (so no month's stock leaks into the
    next): at its last day two partner offices are under agreement — one with two partner
    accounts, one agreed that very day — while one agreement ended on the 10th and one, first
    agreed to the month's end, was cut short to the 15th by a second registration."""
    first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    rows = ((f"yubin-{a.month}", first, last), (f"yubin-{a.month}", first, last),
            (f"suido-{a.month}", first, first + timedelta(9)),
            (f"shinkin-{a.month}", first, last), (f"shinkin-{a.month}", first, first + timedelta(14)),
            (f"gas-{a.month}", last, last))
    ids = [uuid.uuid4() for _ in rows]
    ids[4] = ids[3]  # the same agreement registered again: the later one stands
    for n, (agreement_id, (office, since, until)) in enumerate(zip(ids, rows, strict=True)):
        a.add(PartnerAgreed(agreement_id=agreement_id, partner_office=office, since=since, until=until,
                            may_report=("mail_piling_up",), registered_at=when + timedelta(minutes=n)))
    a.expected[("partners_under_agreement", "", a.month)] = 2  # yubin and gas


def _participation(a: Activity, when: datetime) -> None:
    """Two people matched and placed by an office of this month alone (FollowUpDue reminds it and
    its worker: no inbox another test reads), one placement stable after its first follow-up,
    the other with two follow-ups due. (ResourceGapRecorded is left out: notifications turns it
    into items in inboxes other tests read.)"""
    staff = {"office": f"coordinators-{a.month}", "worker": f"c-{a.month}"}
    for host, stable in (("host-farm", True), ("shakyo", False)):
        participation, placement = uuid.uuid4(), uuid.uuid4()
        a.add(ResourceMatched(participation_id=participation, office=staff["office"],
                              need_codes=("employment",), resource_ids=("farm",), matched_at=when))
        a.count("participation_matched")
        a.add(PlacementStarted(placement_id=placement, participation_id=participation, resource_id="farm",
                               host_office=host, started_at=when, **staff))
        a.count("placements_started", host)
        for n, step in enumerate(("1w",) if stable else ("1w", "1m")):
            a.add(FollowUpDue(placement_id=placement, participation_id=participation, step=step,
                              due_at=when + timedelta(days=1 + n), **staff))
            a.count("follow_ups_due", step)
        if stable:
            a.add(PlacementStable(placement_id=placement, participation_id=participation,
                                  resource_id="farm", office=staff["office"], stable_at=when))
            a.count("placements_stable")


async def publish(client: Callable[[str], dict[str, Any]],
                  records: list[tuple[str, str, EventData, Envelope]], pause: float = 0.0) -> None:
    """Each record sent by its owning service's principal, as its relay would (`pause`: after
    every ten)."""
    producers: dict[str, AIOKafkaProducer] = {}
    try:
        for n, (service, topic, event, env) in enumerate(records, 1):
            if service not in producers:
                producers[service] = AIOKafkaProducer(**client(service), acks="all", enable_idempotence=True,
                                                      linger_ms=5)
                await producers[service].start()
            value = event.model_dump_json().encode()
            await producers[service].send(topic, value, key=env.subject.encode(), headers=env.headers())
            if pause and n % 10 == 0:
                await producers[service].flush()
                await asyncio.sleep(pause)
        for p in producers.values():
            await p.flush()
    finally:
        for p in producers.values():
            await p.stop()
