"""The meeting rules that need no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kit.policy import Consent, Workplace
from services.meetings import bodies, domain

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MOTHER, SON = uuid.uuid4(), uuid.uuid4()


def consent(person: uuid.UUID, *agencies: str, withdrawn: datetime | None = None) -> Consent:
    return Consent(person, frozenset(agencies), frozenset({"support"}), NOW - timedelta(days=1),
                   None, withdrawn)


def at(office: str, body: str) -> Workplace:
    """A member the directory places at `office` of legal body `body`."""
    return Workplace(frozenset({office}), frozenset({body}), frozenset({body}))


KAIGO, KONKYU = {"w-kaigo": at("div-kaigo", "city")}, {"a-konkyu": at("konkyu", "konkyu-hojin")}


def test_a_multilayer_item_needs_each_persons_consent_for_each_member() -> None:
    consents = [consent(MOTHER, "div-kaigo", "konkyu"), consent(SON, "city")]
    assert domain.uncovered([MOTHER], KAIGO | KONKYU, consents, NOW) == []
    assert domain.uncovered([SON], KAIGO, consents, NOW) == []  # the city's legal body covers it
    # the mother's consent does not cover her son
    assert domain.uncovered([MOTHER, SON], KONKYU, consents, NOW) == [(SON, "konkyu")]
    withdrawn = [consent(MOTHER, "konkyu", withdrawn=NOW - timedelta(hours=1))]
    assert domain.uncovered([MOTHER], KONKYU, withdrawn, NOW) == [(MOTHER, "konkyu")]
    # the token's agency is nothing: a member in no office of the directory is covered by none
    assert domain.uncovered([MOTHER], {"guest": Workplace()}, consents, NOW) == [(MOTHER, "guest")]
    assert "konkyu" in domain.uncovered_message([(SON, "konkyu")])


def test_a_support_meeting_member_pledges_first() -> None:
    with pytest.raises(domain.MeetingRuleBroken, match="pledge"):
        domain.join(uuid.uuid4(), "support_meeting", "u", "soudan-1", None)
    assert domain.join(uuid.uuid4(), "multilayer_meeting", "u", "soudan-1", None)[0]["agency"] == "soudan-1"


def test_something_must_be_tabled() -> None:
    with pytest.raises(domain.MeetingRuleBroken):
        domain.table(uuid.uuid4(), "support_meeting", [], [], None, "u", NOW)


def test_every_body_the_plan_names_is_configured_with_its_regime() -> None:
    labels = {b.label.split("（")[0]: b.kind for b in bodies.BODIES.values()}
    assert labels["地域ケア会議"] == labels["要保護児童対策地域協議会"] == "support_meeting"
    assert labels["重層的支援会議"] == labels["福祉連携会議"] == "multilayer_meeting"
    assert {"地域自立支援協議会", "支援調整会議", "支援会議"} <= labels.keys()
    assert bodies.body_for("support_meeting", None).label == "支援会議"
    with pytest.raises(domain.MeetingRuleBroken, match="regime"):
        bodies.body_for("multilayer_meeting", "child_protection_council")
    with pytest.raises(domain.MeetingRuleBroken, match="unknown"):
        bodies.body_for("support_meeting", "nonexistent")


def test_only_the_chair_and_members_attend() -> None:
    assert domain.attendance(["m", "chair", "m"], ["m"], "chair") == ("m", "chair")
    with pytest.raises(domain.MeetingRuleBroken, match="stranger"):
        domain.attendance(["stranger"], ["m"], "chair")
