"""The daily digest: working days only, from the hour, counts and kinds only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.notifications import digest


def test_due_on_working_days_from_the_hour_in_japan() -> None:
    tuesday_0900_jst = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert digest.due(tuesday_0900_jst, 8.5) == tuesday_0900_jst.date()
    assert digest.due(tuesday_0900_jst, 9.5) is None  # not yet
    assert digest.due(datetime(2026, 12, 5, 0, 0, tzinfo=UTC), 8.5) is None  # Saturday
    assert digest.due(datetime(2026, 11, 23, 0, 0, tzinfo=UTC), 8.5) is None  # 勤労感謝の日
    assert digest.due(datetime(2026, 12, 29, 0, 0, tzinfo=UTC), 8.5) is None  # year-end closure


def test_the_digest_counts_by_kind_and_says_nothing_else() -> None:
    at = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    msg = digest.message(at.date(), {"ReferralRequested": 3, "CaseTabled": 1}, at, uuid.uuid4())
    assert msg is not None and msg.title == "未読のお知らせが4件あります（12月1日）"
    assert "ReferralRequested: 3件" in msg.body and "CaseTabled: 1件" in msg.body
    assert digest.message(at.date(), {}, at, uuid.uuid4()) is None  # nothing unread: no mail
