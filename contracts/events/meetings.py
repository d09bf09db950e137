"""Events produced by meetings (多機関協働), on topic meetings.events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from contracts.bounds import Code, Codes, Id, Ids, Instant, Uuids
from contracts.envelope import EventData, Sensitivity

# 支援会議 (Social Welfare Act Art. 106-6): may discuss people without consent; members bound
# by statutory confidentiality. 重層的支援会議: consented cases only; decides plans.
MeetingKind = Literal["support_meeting", "multilayer_meeting"]


class MeetingScheduled(EventData):
    """A meeting was scheduled."""

    meeting_id: UUID
    kind: MeetingKind
    scheduled_for: Instant
    body: Code | None = None  # the body holding it (services/meetings/bodies.json), e.g. 地域ケア会議
    joint_session: UUID | None = None  # 合同開催: the session this body's part belongs to


class MemberJoined(EventData):
    """A user became a member; for a 支援会議, only after signing the confidentiality pledge."""

    meeting_id: UUID
    user_id: Id
    agency: Id
    pledged_at: Instant | None = None


class PledgeSigned(EventData):
    """A member signed the confidentiality pledge (守秘義務, Art. 106-6 (5)) for this meeting."""

    meeting_id: UUID
    user_id: Id
    pledged_at: Instant


class MeetingHeld(EventData):
    """The meeting took place; who attended. The minutes stay in meetings."""

    meeting_id: UUID
    kind: MeetingKind
    attendee_ids: Ids = ()
    held_at: Instant


class CaseTabled(EventData):
    """A case (its persons and consultations) was put on a meeting's agenda."""

    meeting_id: UUID
    kind: MeetingKind
    person_ids: Uuids = ()
    consultation_ids: Uuids = ()
    tabled_at: Instant

    def sensitivity_label(self) -> Sensitivity | None:
        return "confidential-106-6" if self.kind == "support_meeting" else None


# What a meeting decides (plan ch. 2, ④). A 重層的支援会議 decides all of them for consented
# cases; a 支援会議 may decide to start outreach (or table the case elsewhere) for people who
# have not consented, and its decisions carry the confidential-106-6 label.
DecisionKind = Literal[
    "assign_lead",                   # who takes an unassigned case and leads it (主担当)
    "approve_assessment",            # the assessment of `assessment_id`
    "approve_plan",                  # the plan `plan_id` at `plan_version` (first or a revision)
    "start_participation_support",   # 参加支援: referral starts matching
    "start_outreach",                # アウトリーチ: outreach opens or continues a case
    "close",                         # 終結, with the evaluation
    "resource_gap",                  # a resource the city lacks (社会資源の不足), by need codes
]
Evaluation = Literal["met", "partly_met", "not_met"]


class MeetingDecided(EventData):
    """A decision the chair recorded: final once recorded. A correction is a new decision whose
    `supersedes` names the one it replaces (with DecisionCorrected beside it); every consumer
    then acts on the new one in place of the old. Carries ids and codes only: the minutes and
    the reasons stay in meetings."""

    decision_id: UUID
    meeting_id: UUID
    meeting_kind: MeetingKind
    kind: DecisionKind
    person_ids: Uuids = ()             # whose case it is
    consultation_ids: Uuids = ()
    plan_id: UUID | None = None          # approve_plan, close
    plan_version: int | None = None      # approve_plan: the version approved
    assessment_id: UUID | None = None    # approve_assessment
    outreach_case_id: UUID | None = None  # start_outreach, when a case exists already
    lead_agency: Id | None = None        # assign_lead: the lead agency (an office of the directory)
    lead_worker: Id | None = None        # assign_lead: the lead worker's user id
    evaluation: Evaluation | None = None  # close
    need_codes: Codes = ()               # start_participation_support, resource_gap
    supersedes: UUID | None = None       # the decision this one corrects
    decided_at: Instant

    def sensitivity_label(self) -> Sensitivity | None:
        return "confidential-106-6" if self.meeting_kind == "support_meeting" else None


class DecisionCorrected(EventData):
    """A decision was superseded by a later one (`superseded_by`); the old one no longer holds."""

    decision_id: UUID
    superseded_by: UUID
    meeting_id: UUID
    meeting_kind: MeetingKind
    corrected_at: Instant

    def sensitivity_label(self) -> Sensitivity | None:
        return "confidential-106-6" if self.meeting_kind == "support_meeting" else None
