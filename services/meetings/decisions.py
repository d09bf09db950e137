"""What a meeting decides, and how a decision is corrected. Rules only; no I/O.

A decision is final once the chair records it: it is never edited. A correction is a new
decision that names the one it supersedes and says why; the old one stays, marked superseded,
so every consumer of MeetingDecided can act on the new one in place of the old.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from contracts.events.meetings import DecisionCorrected, DecisionKind, MeetingDecided, MeetingKind
from kit.policy import Workplace

from .domain import Events, MeetingRuleBroken

# The facts each kind cannot do without (the consumers act on them).
REQUIRED: Mapping[DecisionKind, tuple[str, ...]] = {
    "assign_lead": ("lead_agency", "lead_worker"),
    "approve_assessment": ("assessment_id",),
    "approve_plan": ("plan_id", "plan_version"),
    "start_participation_support": ("need_codes",),
    "start_outreach": (),
    "close": ("evaluation",),
    "resource_gap": ("need_codes",),
}
# A 支援会議 discusses people who have not consented: it may send outreach, name who leads the
# approach and report a resource gap, but assessments, plans, participation support and
# closure rest on the person's consent and belong to the 重層的支援会議.
SUPPORT_MEETING_MAY: frozenset[DecisionKind] = frozenset({"assign_lead", "start_outreach",
                                                          "resource_gap"})


def decide(meeting_id: uuid.UUID, meeting_kind: MeetingKind, facts: Mapping[str, Any],
           tabled: frozenset[uuid.UUID], previous: Mapping[str, Any] | None, reason: str | None,
           at: datetime) -> tuple[MeetingDecided, Events]:
    """The chair's decision on tabled persons/consultations (`tabled`: every id on the agenda);
    with `previous` (the decision it supersedes, as stored) it is a correction, and its events
    say so (DecisionCorrected after the new MeetingDecided)."""
    kind: DecisionKind = facts["kind"]
    if meeting_kind == "support_meeting" and kind not in SUPPORT_MEETING_MAY:
        raise MeetingRuleBroken(f"支援会議では「{kind}」を決定できません。本人の同意を得て重層的支援会議で"
                                f"決定してください / a 支援会議 does not decide {kind}: it rests on "
                                "consent and belongs to a 重層的支援会議")
    missing = [f for f in REQUIRED[kind] if not facts.get(f)]
    if missing:
        raise MeetingRuleBroken(f"{kind} needs {', '.join(missing)}")
    subjects = {*facts.get("person_ids", ()), *facts.get("consultation_ids", ())}
    if kind != "resource_gap" and not subjects:
        raise MeetingRuleBroken("a decision concerns a tabled person or consultation")
    if not subjects <= tabled:
        raise MeetingRuleBroken("a meeting decides only on what is on its agenda")
    decided = MeetingDecided(decision_id=uuid.uuid4(), meeting_id=meeting_id,
                             meeting_kind=meeting_kind, decided_at=at, **facts)
    if facts.get("supersedes") is None:
        return decided, [decided]
    return decided, [decided, correct(previous, decided, reason)]


def lead_among_members(meeting_kind: MeetingKind, facts: Mapping[str, Any],
                       members: Mapping[str, Workplace]) -> None:
    """A 支援会議's material reaches its pledged members only, and the lead it names holds the
    outreach case it opens: so the lead is a member (`members`: user -> where the directory
    places them), at an office of theirs, or an office where a member works."""
    if meeting_kind != "support_meeting":
        return
    agency, worker = facts.get("lead_agency"), facts.get("lead_worker")
    if worker and worker not in members:
        raise MeetingRuleBroken(f"主担当 {worker} はこの支援会議の構成員ではありません / the lead worker "
                                "must be a pledged member of this 支援会議")
    offices = members[worker].offices if worker else frozenset().union(
        *(place.offices for place in members.values()))
    if agency and agency not in offices:
        raise MeetingRuleBroken(f"主担当機関 {agency} はこの支援会議の構成員の所属ではありません / the lead "
                                "agency must be an office of a pledged member (of the lead worker)")


def correct(previous: Mapping[str, Any] | None, new: MeetingDecided,
            reason: str | None) -> DecisionCorrected:
    if previous is None or previous["meeting_id"] != new.meeting_id:
        raise MeetingRuleBroken("a correction supersedes a decision of the same meeting")
    if previous["superseded_by"] is not None:
        raise MeetingRuleBroken("that decision is already superseded: correct the one in force")
    if previous["kind"] != new.kind:
        raise MeetingRuleBroken("a correction decides the same matter (the same kind)")
    if not (reason or "").strip():
        raise MeetingRuleBroken("a correction says why (reason)")
    return DecisionCorrected(decision_id=previous["id"], superseded_by=new.decision_id,
                             meeting_id=new.meeting_id, meeting_kind=new.meeting_kind,
                             corrected_at=new.decided_at)
