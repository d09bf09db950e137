"""Events produced by plans (アセスメント・プラン・伴走支援), on topic plans.events.

Ids, codes, versions and instants only: the assessment's content, the goals in the person's
words, the agencies' actions and the progress notes stay in plans, read there under the access
policy. Only 重層的支援会議 decisions (which rest on consent) act on plans, so none of these
carries 支援会議 material.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from contracts.bounds import Id, Ids, Instant, Uuids
from contracts.envelope import EventData
from contracts.events.meetings import Evaluation

# Why a plan's review is due: a review date of the approved plan passed, or the person's
# consent stopped covering an agency of the team (the lead is asked to review the plan).
ReviewReason = Literal["review_date", "consent_changed"]


class AssessmentCompleted(EventData):
    """The assessment sheet is complete and can be tabled for approval (approve_assessment)."""

    assessment_id: UUID
    person_ids: Uuids
    office: Id  # the office that wrote it
    completed_at: Instant


class PlanDrafted(EventData):
    """A plan's first version was drafted (awaiting a meeting's approve_plan)."""

    plan_id: UUID
    version: int
    person_ids: Uuids
    office: Id
    lead_agency: Id
    lead_worker: Id
    team_agencies: Ids  # every office with a role in the plan, the lead's included
    drafted_at: Instant


class PlanApproved(EventData):
    """A version of the plan was approved by the meeting's decision `decision_id`."""

    plan_id: UUID
    version: int
    decision_id: UUID
    meeting_id: UUID
    lead_agency: Id
    lead_worker: Id
    approved_at: Instant


class ProgressRecorded(EventData):
    """A team member recorded progress (the note stays in plans)."""

    plan_id: UUID
    entry_id: UUID
    office: Id
    recorded_at: Instant


class PlanReviewDue(EventData):
    """The plan's review is due: a reminder to its lead worker and lead office."""

    plan_id: UUID
    version: int  # the version in force
    reason: ReviewReason
    lead_agency: Id
    lead_worker: Id
    due_at: Instant
    agencies: Ids = ()  # consent_changed: the bodies the consent no longer covers


class PlanReviewed(EventData):
    """The plan was reviewed and changed: `version` goes back to the meeting for approval."""

    plan_id: UUID
    version: int
    reviewed_at: Instant


class LeadChanged(EventData):
    """Who leads the person's support (主担当) changed, by the meeting's decision `decision_id`."""

    person_id: UUID
    lead_agency: Id
    lead_worker: Id
    previous_agency: Id | None = None
    previous_worker: Id | None = None
    decision_id: UUID
    plan_id: UUID | None = None
    effective_at: Instant


class PlanClosed(EventData):
    """The plan was closed by the meeting's decision, with its evaluation (the why stays here)."""

    plan_id: UUID
    version: int
    decision_id: UUID
    evaluation: Evaluation
    closed_at: Instant


class ConnectionCheckDue(EventData):
    """A stay-connected contact (つながり続ける支援) after closure is due."""

    plan_id: UUID
    check_number: int
    lead_agency: Id
    lead_worker: Id
    due_at: Instant


class CaseWithoutLead(EventData):
    """A meeting acted on the person's case and no lead was assigned in time."""

    person_id: UUID
    decision_id: UUID
    meeting_id: UUID
    due_at: Instant
