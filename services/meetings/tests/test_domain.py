"""The meeting rules that need no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kit.policy import Consent
from services.meetings import domain

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MOTHER, SON = uuid.uuid4(), uuid.uuid4()


def consent(person: uuid.UUID, *agencies: str, withdrawn: datetime | None = None) -> Consent:
    return Consent(person, frozenset(agencies), frozenset({"support"}), NOW - timedelta(days=1),
                   None, withdrawn)


def test_a_multilayer_item_needs_each_persons_consent_for_each_member() -> None:
    consents = [consent(MOTHER, "div-kaigo", "konkyu"), consent(SON, "div-kaigo")]
    assert domain.uncovered([MOTHER], ["div-kaigo", "konkyu"], consents, NOW) == []
    # the mother's consent does not cover her son
    assert domain.uncovered([MOTHER, SON], ["konkyu"], consents, NOW) == [(SON, "konkyu")]
    withdrawn = [consent(MOTHER, "konkyu", withdrawn=NOW - timedelta(hours=1))]
    assert domain.uncovered([MOTHER], ["konkyu"], withdrawn, NOW) == [(MOTHER, "konkyu")]
    assert "konkyu" in domain.uncovered_message([(SON, "konkyu")])


def test_a_support_meeting_member_pledges_first() -> None:
    with pytest.raises(domain.MeetingRuleBroken, match="pledge"):
        domain.join(uuid.uuid4(), "support_meeting", "u", "soudan-1", None)
    assert domain.join(uuid.uuid4(), "multilayer_meeting", "u", "soudan-1", None).agency == "soudan-1"


def test_something_must_be_tabled() -> None:
    with pytest.raises(domain.MeetingRuleBroken):
        domain.table(uuid.uuid4(), "support_meeting", [], [], NOW)
