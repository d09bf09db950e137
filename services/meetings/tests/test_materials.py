"""The material rules that need no database: what a pointer may name, who presents, and the
record each item is decided on (its body's regime)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.meetings import materials
from services.meetings.domain import MeetingRuleBroken

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PERSON = uuid.uuid4()


def meeting(kind: str) -> dict[str, object]:
    return {"id": uuid.uuid4(), "municipality": "132187", "kind": kind, "created_by": "chair"}


ITEM = {"id": uuid.uuid4(), "meeting_id": uuid.uuid4(), "tabled_by": "presenter"}


def test_a_pointer_names_a_record_its_service_owns_and_publishes_nothing() -> None:
    facts = {"service": "plans", "record_type": "assessment", "record_id": uuid.uuid4(),
             "title": "アセスメント", "summary": None}
    material, events = materials.present(ITEM, facts, "presenter", NOW)
    assert (material["item_id"], material["record_type"], events) == (ITEM["id"], "assessment", [])
    with pytest.raises(MeetingRuleBroken, match="plans holds no consultation"):
        materials.present(ITEM, facts | {"record_type": "consultation"}, "presenter", NOW)
    with pytest.raises(MeetingRuleBroken):
        materials.minutes(ITEM, "  ", "chair", NOW)


def test_each_item_is_decided_under_its_bodys_regime() -> None:
    support = materials.item_record(meeting("support_meeting"), frozenset({PERSON}))
    assert support.confidential_106_6 and support.meeting_material and not support.consent_regime
    consent = materials.item_record(meeting("multilayer_meeting"), frozenset({PERSON}))
    assert consent.consent_regime and not consent.confidential_106_6
    # the meeting itself is its members' under either regime, item by item after that
    assert not materials.frame_record(meeting("multilayer_meeting"), frozenset()).consent_regime
    assert materials.presenters(meeting("support_meeting"), ITEM) == {"chair", "presenter"}
