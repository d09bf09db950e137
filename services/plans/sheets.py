"""What an assessment sheet and a plan version hold, and the rules on them. No I/O.

The assessment follows the national intake/assessment form (インテーク・アセスメントシート): the
household and its members; per life area the situation, risks and strengths; the person's own
wishes in their words; the agencies asked for information and what they answered. A plan
version holds the goals in the person's words, each agency's role and actions, the lead
(主担当), the review dates, and the participation-support and outreach parts a meeting decided.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Code, Id, Note, Reason, Title

from .domain import Decision, DecisionMissing, PlanRuleBroken

LifeArea = Literal["health_medical", "care", "disability", "child_rearing_education",
                   "income_debt", "housing", "employment", "daily_life",
                   "social_relations_isolation", "safety"]
AREA_LABELS: dict[str, str] = {
    "health_medical": "健康・医療", "care": "介護", "disability": "障害",
    "child_rearing_education": "子育て・教育", "income_debt": "収入・債務", "housing": "住まい",
    "employment": "就労", "daily_life": "日常生活", "social_relations_isolation": "社会関係・孤立",
    "safety": "安全"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Member(_Strict):
    person_id: uuid.UUID | None = None  # a registered person, when they are
    relation: Code  # self, spouse, child, parent, …
    situation: Reason = ""


class Finding(_Strict):
    situation: Note = ""
    risks: Note = ""
    strengths: Note = ""


class Inquiry(_Strict):
    agency: Id  # an office or legal body of the directory
    asked_on: date
    answer: Note | None = None  # None: not answered yet


class Sheet(_Strict):
    household: list[Member] = Field(default_factory=list, max_length=20)
    areas: dict[LifeArea, Finding] = Field(default_factory=dict)
    wishes: Note = ""  # the person's own words (本人の希望)
    inquiries: list[Inquiry] = Field(default_factory=list, max_length=50)


def complete(sheet: Sheet, status: str) -> None:
    """An assessment is complete when it holds the person's wishes and at least one area."""
    if status != "draft":
        raise PlanRuleBroken(f"the assessment is {status} already")
    missing = [f for f, empty in (("wishes", not sheet.wishes.strip()), ("areas", not sheet.areas))
               if empty]
    if missing:
        raise PlanRuleBroken(f"an assessment is completed with {' and '.join(missing)} "
                             "(the person's wishes in their words; at least one life area)",
                             missing=missing)


def approval(assessment_id: uuid.UUID, person_ids: frozenset[uuid.UUID], status: str,
             decisions: list[Decision]) -> Decision:
    """The meeting's approve_assessment decision in force for this completed assessment."""
    if status != "completed":
        raise PlanRuleBroken(f"only a completed assessment is approved (this one is {status})")
    found = [d for d in decisions if d.in_force and d.kind == "approve_assessment"
             and d.assessment_id == assessment_id and person_ids <= d.person_ids]
    if not found:
        raise DecisionMissing(
            f"アセスメントの承認には重層的支援会議の決定が必要です / missing: a 重層的支援会議 decision "
            f"approve_assessment with assessment_id={assessment_id}, recorded in meetings",
            missing={"kind": "approve_assessment", "assessment_id": str(assessment_id)})
    return max(found, key=lambda d: d.decided_at)


class Goal(_Strict):
    term: Literal["short", "long"]
    words: Note  # in the person's words


class Role(_Strict):
    agency: Id  # an office of the directory
    role: Title
    actions: Note


class Content(_Strict):
    """One version of a plan, as written."""

    goals: list[Goal] = Field(min_length=1, max_length=20)
    roles: list[Role] = Field(min_length=1, max_length=20)
    lead_agency: Id
    lead_worker: Id
    review_dates: list[date] = Field(min_length=1, max_length=12)
    participation: Note | None = None  # 参加支援: only when a meeting decided it
    outreach: Note | None = None  # アウトリーチ: only when a meeting decided it
    assessment_id: uuid.UUID | None = None

    def team(self) -> frozenset[str]:
        return frozenset({r.agency for r in self.roles} | {self.lead_agency})


PARTS = {"participation": "start_participation_support", "outreach": "start_outreach"}


def check_parts(content: Content, person_ids: frozenset[uuid.UUID],
                decisions: list[Decision]) -> None:
    """A participation-support or outreach part is written only where a meeting decided it."""
    for part, kind in PARTS.items():
        if getattr(content, part) is None:
            continue
        if not any(d.in_force and d.kind == kind and person_ids <= d.person_ids for d in decisions):
            raise DecisionMissing(
                f"missing: a 重層的支援会議 decision {kind} about the plan's persons, before the "
                f"plan holds its {part} part",
                missing={"kind": kind, "part": part})
