"""An inbox item's e-mail: Japanese subject encoded (RFC 2047), text and HTML, nothing more."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import UTC, datetime

from services.notifications.domain import Message
from services.notifications.email.compose import compose

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_subject_is_encoded_and_both_bodies_carry_only_the_item() -> None:
    msg = Message("ReferralRequested", uuid.uuid4(), uuid.uuid4(), "新しいつなぎ依頼（緊急度: 高）",
                  "支援関係機関あての相談が届きました。", "/referrals/abc", "high", AT)
    raw = bytes(compose(msg, uuid.UUID(int=7), "tsunagu@city.example.jp", "a@b.example.jp",
                        "https://tsunagu.example.jp/"))
    subject = next(line for line in raw.split(b"\r\n") if line.lower().startswith(b"subject:"))
    assert subject.isascii() and b"=?utf-8?" in subject.lower()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["subject"] == "【つなぐ】新しいつなぎ依頼（緊急度: 高）"
    assert parsed["message-id"] == f"<{uuid.UUID(int=7)}@tsunagu>"
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    link = "https://tsunagu.example.jp/referrals/abc"
    assert link in text and f'href="{link}"' in page
    assert "支援関係機関あての相談が届きました。" in text and "支援関係機関あての相談が届きました。" in page
