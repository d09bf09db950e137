"""Every event type: its model, versioned CloudEvents type, topic, key field and sensitivity.

Producers and consumers both look events up here, so a type name, a topic and a key are
written once. Adding an event = a model in contracts/events/ + one line below + `make schemas`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from contracts.envelope import EventData, Sensitivity
from contracts.events.access import BreakGlassAccessed
from contracts.events.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    ConsultationReceived,
    HouseholdChanged,
    PersonRegistered,
    PersonsMerged,
    PersonsUnmerged,
)
from contracts.events.meetings import (
    CaseTabled,
    DecisionCorrected,
    MeetingDecided,
    MeetingHeld,
    MeetingScheduled,
    MemberJoined,
    PledgeSigned,
)
from contracts.events.notifications import (
    NotificationDelivered,
    WebhookDeliveryFailed,
    WebhookParked,
)
from contracts.events.outreach import (
    ConcernReported,
    ContactAttempted,
    ContactMade,
    ContactOverdue,
    OutreachEnded,
    OutreachHandedOver,
    OutreachStageChanged,
    OutreachStarted,
    PartnerAgreed,
    WeakSignalAlert,
)
from contracts.events.plans import (
    AssessmentCompleted,
    CaseWithoutLead,
    ConnectionCheckDue,
    LeadChanged,
    PlanApproved,
    PlanClosed,
    PlanDrafted,
    PlanReviewDue,
    PlanReviewed,
    ProgressRecorded,
)
from contracts.events.referral import (
    DirectoryChanged,
    EscalatedToCoordinator,
    EscalatedToPromoter,
    FollowUpDue,
    PlacementStable,
    PlacementStarted,
    ReferralAccepted,
    ReferralCompleted,
    ReferralDeclined,
    ReferralFollowUpDue,
    ReferralOverdue,
    ReferralRequested,
    ReferralStarted,
    ReferralWithdrawn,
    ResourceGapRecorded,
    ResourceMatched,
)

NAMESPACE = "jp.tsunagu"


@dataclass(frozen=True)
class EventSpec:
    model: type[EventData]
    service: str  # the producing pillar; its stream is "<service>.events"
    key_field: str  # the aggregate id: Kafka key and CloudEvents subject
    sensitivity: Sensitivity
    version: int = 1

    @property
    def name(self) -> str:
        return self.model.__name__

    @property
    def topic(self) -> str:
        return f"{self.service}.events"

    @cached_property  # every outbox row asks: a regex each time was ~2 % of a POST (#14)
    def ce_type(self) -> str:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()
        return f"{NAMESPACE}.{self.service}.{snake}.v{self.version}"

    @property
    def dataschema(self) -> str:
        return f"urn:tsunagu:schema:{self.ce_type}"

    def key(self, event: EventData) -> str:
        return str(getattr(event, self.key_field))


SPECS: tuple[EventSpec, ...] = (
    EventSpec(ConsultationReceived, "intake", "consultation_id", "personal"),
    EventSpec(PersonRegistered, "intake", "person_id", "general"),
    EventSpec(PersonsMerged, "intake", "surviving_person_id", "general"),
    EventSpec(PersonsUnmerged, "intake", "surviving_person_id", "general"),
    EventSpec(HouseholdChanged, "intake", "household_id", "general"),
    # keyed by person: a person's grants and withdrawals stay in order on one partition
    EventSpec(ConsentGranted, "intake", "person_id", "personal"),
    EventSpec(ConsentWithdrawn, "intake", "person_id", "personal"),
    EventSpec(ConsentExpired, "intake", "person_id", "personal"),
    EventSpec(MeetingScheduled, "meetings", "meeting_id", "general"),
    EventSpec(MemberJoined, "meetings", "meeting_id", "general"),
    EventSpec(CaseTabled, "meetings", "meeting_id", "personal"),
    EventSpec(PledgeSigned, "meetings", "meeting_id", "general"),
    EventSpec(MeetingHeld, "meetings", "meeting_id", "general"),
    # keyed by meeting: a decision and its correction stay in order on one partition
    EventSpec(MeetingDecided, "meetings", "meeting_id", "personal"),
    EventSpec(DecisionCorrected, "meetings", "meeting_id", "personal"),
    EventSpec(BreakGlassAccessed, "access", "object_id", "personal"),
    EventSpec(ReferralRequested, "referral", "referral_id", "personal"),
    # a referral's lifecycle, keyed by the referral so its changes arrive in order
    EventSpec(ReferralAccepted, "referral", "referral_id", "personal"),
    EventSpec(ReferralStarted, "referral", "referral_id", "personal"),
    EventSpec(ReferralDeclined, "referral", "referral_id", "personal"),
    EventSpec(ReferralCompleted, "referral", "referral_id", "personal"),
    EventSpec(ReferralWithdrawn, "referral", "referral_id", "personal"),
    EventSpec(ReferralOverdue, "referral", "referral_id", "personal"),
    EventSpec(ReferralFollowUpDue, "referral", "referral_id", "personal"),
    EventSpec(EscalatedToPromoter, "referral", "referral_id", "personal"),
    EventSpec(EscalatedToCoordinator, "referral", "referral_id", "personal"),
    # the whole directory at each revision: a view keeps the highest revision it has seen
    EventSpec(DirectoryChanged, "referral", "revision", "general"),
    # participation support (issue 9), keyed by the participation so a placement's story is in order
    EventSpec(ResourceMatched, "referral", "participation_id", "personal"),
    EventSpec(PlacementStarted, "referral", "participation_id", "personal"),
    EventSpec(FollowUpDue, "referral", "participation_id", "personal"),
    EventSpec(PlacementStable, "referral", "participation_id", "personal"),
    EventSpec(ResourceGapRecorded, "referral", "gap_id", "general"),
    EventSpec(NotificationDelivered, "notifications", "notification_id", "general"),
    # keyed by delivery: a delivery's failures and its parking stay in order
    EventSpec(WebhookDeliveryFailed, "notifications", "delivery_id", "general"),
    EventSpec(WebhookParked, "notifications", "delivery_id", "general"),
    # outreach (issue 12): a case's events keyed by the case, so they arrive in order; labelled
    # confidential-106-6 one by one when about an identified person (contracts/events/outreach.py)
    EventSpec(ConcernReported, "outreach", "report_id", "personal"),
    EventSpec(WeakSignalAlert, "outreach", "alert_id", "personal"),
    EventSpec(OutreachStarted, "outreach", "outreach_case_id", "personal"),
    EventSpec(ContactAttempted, "outreach", "outreach_case_id", "personal"),
    EventSpec(ContactMade, "outreach", "outreach_case_id", "personal"),
    EventSpec(ContactOverdue, "outreach", "outreach_case_id", "personal"),
    EventSpec(OutreachStageChanged, "outreach", "outreach_case_id", "personal"),
    EventSpec(OutreachEnded, "outreach", "outreach_case_id", "personal"),
    EventSpec(OutreachHandedOver, "outreach", "outreach_case_id", "personal"),
    # a partner's agreement keyed by the agreement, so its changes arrive in order (issue 17)
    EventSpec(PartnerAgreed, "outreach", "agreement_id", "general"),
    # plans: a plan's lifecycle keyed by the plan, so its versions and timers arrive in order;
    # the responsibility ledger keyed by the person it is about
    EventSpec(AssessmentCompleted, "plans", "assessment_id", "personal"),
    EventSpec(PlanDrafted, "plans", "plan_id", "personal"),
    EventSpec(PlanApproved, "plans", "plan_id", "personal"),
    EventSpec(ProgressRecorded, "plans", "plan_id", "personal"),
    EventSpec(PlanReviewDue, "plans", "plan_id", "personal"),
    EventSpec(PlanReviewed, "plans", "plan_id", "personal"),
    EventSpec(PlanClosed, "plans", "plan_id", "personal"),
    EventSpec(ConnectionCheckDue, "plans", "plan_id", "personal"),
    EventSpec(LeadChanged, "plans", "person_id", "personal"),
    EventSpec(CaseWithoutLead, "plans", "person_id", "personal"),
)

BY_MODEL: dict[type[EventData], EventSpec] = {s.model: s for s in SPECS}
BY_CE_TYPE: dict[str, EventSpec] = {s.ce_type: s for s in SPECS}


def spec_for(event: EventData | type[EventData]) -> EventSpec:
    model = event if isinstance(event, type) else type(event)
    try:
        return BY_MODEL[model]
    except KeyError:
        raise LookupError(f"{model.__name__} is not in contracts.registry.SPECS") from None


def topics() -> list[str]:
    return sorted({s.topic for s in SPECS})


# access.events is every service's: each reports there the break-glass accesses it served.
SHARED_TOPIC = "access.events"


def source(service: str) -> str:
    """The CloudEvents source of a service's events."""
    return f"/tsunagu/{service}"


def owner_of(topic: str) -> str | None:
    """The service whose topic (`<service>.events`, `<service>.dlt`) this is, the only one it
    is believed from; None for the shared access.events, which any service may write."""
    return None if topic == SHARED_TOPIC else topic.split(".", 1)[0]
