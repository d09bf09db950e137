"""What users ask of meetings: one request model per command (every string and list bounded)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from contracts.bounds import Code, Id, Instant, Note, Reason, Title
from contracts.events.meetings import DecisionKind, Evaluation, MeetingKind

from .materials import Service


class MeetingIn(BaseModel):
    kind: MeetingKind
    body: Code | None = Field(None, description="会議体 (bodies.json; by default the one named like kind)")
    joint_with: uuid.UUID | None = Field(None, description="合同開催: a meeting of another body, "
                                         "chaired by the same user, whose session this part joins")
    title: Title = Field(min_length=1)
    scheduled_for: Instant


class MemberIn(BaseModel):
    user_id: Id
    agency: Id
    pledged_at: Instant | None = Field(None, description="守秘義務の誓約日 (required for 支援会議)")


class AgendaIn(BaseModel):
    person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    consultation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    notes: Note | None = Field(None, description="会議資料 (members only)")


class HeldIn(BaseModel):
    attendee_ids: list[Id] = Field(default_factory=list, max_length=100)
    minutes: Note | None = Field(None, description="議事録 (members only; never in events)")


class DecisionIn(BaseModel):
    kind: DecisionKind
    person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    consultation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    plan_id: uuid.UUID | None = None
    plan_version: int | None = Field(None, ge=1, le=10_000)
    assessment_id: uuid.UUID | None = None
    outreach_case_id: uuid.UUID | None = None
    lead_agency: Id | None = None
    lead_worker: Id | None = None
    evaluation: Evaluation | None = None
    need_codes: list[Code] = Field(default_factory=list, max_length=20)
    supersedes: uuid.UUID | None = Field(None, description="訂正する決定 (a correction)")
    reason: Reason | None = Field(None, description="訂正の理由 (kept in meetings only)")


class MaterialIn(BaseModel):
    """A reference to a record another service owns: opening it is that service's decision."""

    service: Service
    record_type: Code = Field(description="consultation / person / household (intake), assessment "
                              "/ plan (plans), referral (referral), outreach_case (outreach)")
    record_id: uuid.UUID
    title: Title = Field(min_length=1, description="資料名 (written by the presenting member)")
    summary: Note | None = Field(None, description="要旨 (members only, as the item's rule allows)")


class MinutesIn(BaseModel):
    minutes: Note = Field(min_length=1, description="この案件の議事録 (the chair's record)")


class MeetingOut(BaseModel):
    id: uuid.UUID
    kind: MeetingKind
    body: str
    body_label: str
    joint_session: uuid.UUID | None = None
    joint_parts: list[dict[str, Any]] = []
    title: str
    scheduled_for: AwareDatetime
    members: list[dict[str, Any]] = []
    agenda: list[dict[str, Any]] = []
    session: dict[str, Any] | None = None
    decisions: list[dict[str, Any]] = []
