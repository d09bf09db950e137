"""The decision rules that need no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.events.meetings import DecisionCorrected
from services.meetings import decisions
from services.meetings.domain import MeetingRuleBroken

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MEETING, PERSON = uuid.uuid4(), uuid.uuid4()
TABLED = frozenset({PERSON})


def facts(kind: str, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "person_ids": [PERSON], **more}


def test_each_kind_needs_its_facts_and_a_tabled_subject() -> None:
    with pytest.raises(MeetingRuleBroken, match="lead_agency"):
        decisions.decide(MEETING, "multilayer_meeting", facts("assign_lead"), TABLED, None, None, NOW)
    with pytest.raises(MeetingRuleBroken, match="agenda"):
        decisions.decide(MEETING, "multilayer_meeting", {"kind": "start_outreach",
                         "person_ids": [uuid.uuid4()]}, TABLED, None, None, NOW)
    decided, events = decisions.decide(MEETING, "multilayer_meeting",
                                       facts("approve_plan", plan_id=uuid.uuid4(), plan_version=2),
                                       TABLED, None, None, NOW)
    assert decided.plan_version == 2 and events == [decided]
    # a resource gap may concern the city rather than one person
    assert decisions.decide(MEETING, "multilayer_meeting", {"kind": "resource_gap",
                            "need_codes": ["shelter"]}, frozenset(), None, None, NOW)[0]


def test_a_support_meeting_decides_only_what_needs_no_consent() -> None:
    with pytest.raises(MeetingRuleBroken, match="重層的支援会議"):
        decisions.decide(MEETING, "support_meeting", facts("close", evaluation="met"), TABLED, None,
                         None, NOW)
    decided, _ = decisions.decide(MEETING, "support_meeting", facts("start_outreach"), TABLED, None,
                                  None, NOW)
    assert decided.sensitivity_label() == "confidential-106-6"


def test_a_correction_names_the_decision_in_force_and_says_why() -> None:
    first, _ = decisions.decide(MEETING, "multilayer_meeting", facts("start_outreach"), TABLED, None,
                                None, NOW)
    stored = {"id": first.decision_id, "meeting_id": MEETING, "kind": "start_outreach",
              "superseded_by": None}
    again = facts("start_outreach", supersedes=first.decision_id)
    with pytest.raises(MeetingRuleBroken, match="why"):
        decisions.decide(MEETING, "multilayer_meeting", again, TABLED, stored, " ", NOW)
    with pytest.raises(MeetingRuleBroken, match="same kind"):
        decisions.decide(MEETING, "multilayer_meeting", facts("resource_gap", need_codes=["x"],
                         supersedes=first.decision_id), TABLED, stored, "誤り", NOW)
    with pytest.raises(MeetingRuleBroken, match="already"):
        decisions.decide(MEETING, "multilayer_meeting", again, TABLED,
                         stored | {"superseded_by": uuid.uuid4()}, "誤り", NOW)
    second, (_, corrected) = decisions.decide(MEETING, "multilayer_meeting", again, TABLED, stored,
                                              "対象者の誤り", NOW)
    assert isinstance(corrected, DecisionCorrected) and corrected.decision_id == first.decision_id
    assert corrected.superseded_by == second.decision_id
