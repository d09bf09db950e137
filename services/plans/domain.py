"""The support plan (支援プラン) and what a meeting must have decided before it moves. Rules only;
no I/O: functions take the plan's state and the decisions plans has seen, and return the new
state and the events to record.

A plan is a series of versions. The first is drafted, every later one is a review that changed
it; each goes to a 重層的支援会議 and is in force only once an `approve_plan` decision for that
plan and version holds. The state is derived, never stored apart from its facts:
draft (nothing approved yet) → approved → in_progress (progress recorded since the approval) →
reviewed (a later version awaits approval; the approved one stays in force) → closed (only
by a `close` decision, with its evaluation and the why).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from contracts.envelope import EventData
from contracts.events.plans import PlanApproved, PlanClosed, PlanReviewed, ProgressRecorded
from kit.errors import DomainError

Status = Literal["draft", "approved", "in_progress", "reviewed", "closed"]


class PlanRuleBroken(DomainError):
    status, title, type_ = 409, "Not in that state", "urn:tsunagu:problem:plan-state"


class DecisionMissing(DomainError):
    """What the meeting has not decided (yet): the detail and `missing` name it exactly."""

    status, title, type_ = 409, "The meeting's decision is missing", \
        "urn:tsunagu:problem:decision-missing"


@dataclass(frozen=True)
class Decision:
    """A 重層的支援会議's decision as plans' view holds it (MeetingDecided)."""

    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    kind: str
    person_ids: frozenset[uuid.UUID]
    decided_at: datetime
    plan_id: uuid.UUID | None = None
    plan_version: int | None = None
    assessment_id: uuid.UUID | None = None
    lead_agency: str | None = None
    lead_worker: str | None = None
    evaluation: str | None = None
    superseded_by: uuid.UUID | None = None

    @property
    def in_force(self) -> bool:
        return self.superseded_by is None


@dataclass(frozen=True)
class Plan:
    id: uuid.UUID
    person_ids: frozenset[uuid.UUID]
    latest: int  # the latest version
    approved: dict[int, uuid.UUID]  # version -> the decision that approved it (in force)
    started: bool = False  # progress recorded since the last approval
    closed_by: uuid.UUID | None = None
    evaluation: str | None = None

    @property
    def in_force(self) -> int | None:
        """The approved version the team works to."""
        return max(self.approved) if self.approved else None

    @property
    def status(self) -> Status:
        if self.closed_by is not None:
            return "closed"
        if self.in_force is None:
            return "draft"
        if self.latest > self.in_force:
            return "reviewed"
        return "in_progress" if self.started else "approved"


def _open(plan: Plan) -> None:
    if plan.status == "closed":
        raise PlanRuleBroken(f"plan {plan.id} is closed: its record stays as it was; stay-connected "
                             "contacts continue (GET /plans/{id}/connection-checks)")


def _concerns(plan: Plan, d: Decision) -> bool:
    return d.in_force and d.plan_id == plan.id and plan.person_ids <= d.person_ids


def approve(plan: Plan, decisions: list[Decision]) -> tuple[Plan, Decision]:
    """Approve the version awaiting approval by the meeting's decision that approves exactly it."""
    _open(plan)
    if plan.in_force == plan.latest:
        raise PlanRuleBroken(f"version {plan.latest} of plan {plan.id} is approved already; a "
                             "change is a review (POST /plans/{id}/revisions) that goes back for approval")
    found = [d for d in decisions if _concerns(plan, d) and d.kind == "approve_plan"
             and d.plan_version == plan.latest]
    if not found:
        raise DecisionMissing(
            f"承認には重層的支援会議の決定が必要です / missing: a 重層的支援会議 decision "
            f"approve_plan with plan_id={plan.id} and plan_version={plan.latest} (about every "
            "person of the plan), recorded in meetings (POST /meetings/{id}/decisions); a "
            "superseded decision does not count",
            missing={"kind": "approve_plan", "plan_id": str(plan.id), "plan_version": plan.latest})
    d = max(found, key=lambda x: x.decided_at)
    approved = replace(plan, approved={**plan.approved, plan.latest: d.decision_id}, started=False)
    return approved, d


def approved_event(plan: Plan, d: Decision, lead: tuple[str, str], at: datetime) -> PlanApproved:
    assert d.plan_version is not None
    return PlanApproved(plan_id=plan.id, version=d.plan_version, decision_id=d.decision_id,
                        meeting_id=d.meeting_id, lead_agency=lead[0], lead_worker=lead[1],
                        approved_at=at)


def close(plan: Plan, decisions: list[Decision], at: datetime) -> tuple[Plan, PlanClosed]:
    """Close by the meeting's `close` decision for this plan; its evaluation is the plan's."""
    _open(plan)
    found = [d for d in decisions if _concerns(plan, d) and d.kind == "close" and d.evaluation]
    if not found:
        raise DecisionMissing(
            f"終結には重層的支援会議の終結の決定（評価つき）が必要です / missing: a 重層的支援会議 "
            f"decision close with plan_id={plan.id} and an evaluation (met, partly_met or "
            "not_met), recorded in meetings (POST /meetings/{id}/decisions)",
            missing={"kind": "close", "plan_id": str(plan.id), "evaluation": "met|partly_met|not_met"})
    d = max(found, key=lambda x: x.decided_at)
    closed = replace(plan, closed_by=d.decision_id, evaluation=d.evaluation)
    return closed, _closed_event(closed, d, at)


def _closed_event(plan: Plan, d: Decision, at: datetime) -> PlanClosed:
    assert d.evaluation is not None
    return PlanClosed(plan_id=plan.id, version=plan.in_force or plan.latest,
                      decision_id=d.decision_id, evaluation=d.evaluation,  # type: ignore[arg-type]
                      closed_at=at)


def review(plan: Plan, at: datetime) -> tuple[Plan, PlanReviewed | None]:
    """A changed plan is a new version; once one was approved, it goes back for approval."""
    _open(plan)
    revised = replace(plan, latest=plan.latest + 1)
    if plan.in_force is None:  # still a draft: a new draft, nothing to announce beyond it
        return revised, None
    return revised, PlanReviewed(plan_id=plan.id, version=revised.latest, reviewed_at=at)


def record_progress(plan: Plan, office: str, at: datetime) -> tuple[Plan, ProgressRecorded]:
    """Progress is recorded against the version in force: there is none before approval."""
    _open(plan)
    if plan.in_force is None:
        raise DecisionMissing(
            f"承認前のプランには経過を記録できません / missing: a 重層的支援会議 decision approve_plan "
            f"for plan {plan.id}: progress is recorded once a version is approved",
            missing={"kind": "approve_plan", "plan_id": str(plan.id), "plan_version": plan.latest})
    return replace(plan, started=True), ProgressRecorded(plan_id=plan.id, entry_id=uuid.uuid4(),
                                                          office=office, recorded_at=at)


def superseded(plan: Plan, old: uuid.UUID, new: Decision, at: datetime) -> tuple[Plan, list[EventData]]:
    """A correction `new` supersedes decision `old`: what rested on `old` no longer holds, and
    `new` acts in its place where it concerns this plan."""
    events: list[EventData] = []
    if old in plan.approved.values():
        approved = {v: d for v, d in plan.approved.items() if d != old}
        if new.kind == "approve_plan" and _concerns(plan, new) and new.plan_version is not None \
                and new.plan_version <= plan.latest:
            approved[new.plan_version] = new.decision_id
        plan = replace(plan, approved=approved)
    if plan.closed_by == old:
        if new.kind == "close" and _concerns(plan, new) and new.evaluation:
            plan = replace(plan, closed_by=new.decision_id, evaluation=new.evaluation)
            events.append(_closed_event(plan, new, at))
        else:  # the closure no longer holds: the plan is open again
            plan = replace(plan, closed_by=None, evaluation=None)
    return plan, events
