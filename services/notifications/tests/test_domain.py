"""What a message says and who hears it, by the rules in rules.json."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.envelope import Envelope
from contracts.events.meetings import CaseTabled, MeetingDecided
from contracts.events.referral import ReferralRequested
from contracts.registry import spec_for
from services.notifications import domain, rules

AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
RULES = rules.load()


def _envelope(event: object) -> Envelope:
    spec = spec_for(event)  # type: ignore[arg-type]
    return Envelope(id=uuid.uuid4(), type=spec.ce_type, source="/tsunagu/x", time=AT,
                    subject=spec.key(event), dataschema=spec.dataschema,  # type: ignore[arg-type]
                    sensitivity=event.sensitivity_label() or spec.sensitivity,  # type: ignore[attr-defined]
                    municipality="999999")


def test_a_referral_tells_the_receiving_office_its_kind_and_urgency_in_japanese() -> None:
    event = ReferralRequested(referral_id=uuid.uuid4(), consultation_id=uuid.uuid4(),
                              requested_at=AT, destination_kind="coordinator",
                              to_agency="coordinators", categories=("8050", "isolation"),
                              urgency="emergency")
    rule = RULES["ReferralRequested"]
    msg = domain.message(rule, event, _envelope(event), AT)
    assert rules.recipients(rule, event) == [("office", "coordinators")]
    assert msg.title == "新しいつなぎ依頼（緊急度: 緊急）" and msg.link == f"/referrals/{event.referral_id}"
    assert "地域福祉コーディネーター" in msg.body and "8050問題、社会的孤立" in msg.body
    [item] = domain.items(msg, rules.recipients(rule, event))
    assert item.delivered().notification_id == item.id and item.delivered().channel == "inbox"


def test_one_event_names_the_same_item_for_a_recipient_every_time() -> None:
    event = CaseTabled(meeting_id=uuid.uuid4(), kind="multilayer_meeting", tabled_at=AT)
    msg = domain.message(RULES["CaseTabled"], event, _envelope(event), AT)
    twice = domain.items(msg, [("user", "u1"), ("user", "u1"), ("office", "u1")])
    assert [i.id for i in twice] == [i.id for i in domain.items(msg, [("user", "u1"), ("office", "u1")])]
    assert len({i.id for i in twice}) == 2


def test_a_support_meeting_item_says_only_that_there_is_an_item() -> None:
    person = uuid.uuid4()
    event = MeetingDecided(decision_id=uuid.uuid4(), meeting_id=uuid.uuid4(),
                           meeting_kind="support_meeting", kind="assign_lead", person_ids=(person,),
                           lead_agency="houkatsu-1", lead_worker="w1", decided_at=AT)
    msg = domain.message(RULES["MeetingDecided"], event, _envelope(event), AT)
    assert (msg.title, msg.body) == (domain.SUPPORT_MEETING_TITLE, domain.SUPPORT_MEETING_BODY)
    assert msg.link == f"/meetings/{event.meeting_id}" and msg.about_id == event.meeting_id
    assert str(person) not in repr(msg) and "assign_lead" not in repr(msg)


def test_a_rule_naming_an_unknown_field_or_type_fails_at_load(tmp_path: Path) -> None:
    good = json.loads((Path(rules.__file__).parent / "rules.json").read_text(encoding="utf-8"))
    for broken in ({"NoSuchEvent": good["CaseTabled"]},
                   {"CaseTabled": {**good["CaseTabled"], "link": "/x/{person_name}"}},
                   {"CaseTabled": {**good["CaseTabled"], "to": [{"user_field": "nobody"}]}}):
        path = tmp_path / "rules.json"
        path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(ValueError):
            rules.load(path)
