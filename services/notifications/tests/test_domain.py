"""What an agency's inbox says about a new referral."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.events.referral import ReferralRequested
from services.notifications import domain

AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_inbox_item_names_kind_and_urgency_in_japanese() -> None:
    event = ReferralRequested(referral_id=uuid.uuid4(), consultation_id=uuid.uuid4(),
                              requested_at=AT, destination_kind="coordinator",
                              to_agency="coordinators", categories=("8050", "isolation"),
                              urgency="emergency")
    item = domain.for_referral(event, AT)
    assert item.recipient_id == "coordinators" and item.about_id == event.referral_id
    assert item.title == "新しいつなぎ依頼（緊急度: 緊急）"
    assert "地域福祉コーディネーター" in item.body and "8050問題、社会的孤立" in item.body
    [delivered] = item.events
    assert delivered.notification_id == item.id and delivered.channel == "inbox"
