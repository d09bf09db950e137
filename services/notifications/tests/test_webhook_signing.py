"""Signed deliveries, as the sample receiver (infra/examples/webhook_receiver.py) checks them."""

from __future__ import annotations

import random
import time
import uuid

import pytest

from infra.examples.webhook_receiver import verify
from services.notifications.webhooks import routing, signing

BODY = b'{"specversion":"1.0","type":"jp.tsunagu.referral.referral_requested.v1","data":{}}'


def _signed(secrets: list[str], at: int, body: bytes = BODY) -> dict[str, str]:
    return signing.headers(secrets, str(uuid.uuid4()), at, body)


def test_the_receiver_accepts_a_fresh_signed_delivery() -> None:
    secret = signing.new_secret()
    headers = _signed([secret], int(time.time()))
    assert verify(secret, headers, BODY)
    assert signing.verify(secret, headers, BODY, int(time.time()))


def test_a_tampered_body_a_stale_timestamp_and_a_wrong_secret_are_rejected() -> None:
    secret, now = signing.new_secret(), int(time.time())
    assert not verify(secret, _signed([secret], now), BODY.replace(b"{}", b'{"x":1}'))
    assert not verify(secret, _signed([secret], now - 301), BODY)  # a recorded delivery replayed
    assert not verify(secret, _signed([secret], now + 301), BODY)
    assert not verify(signing.new_secret(), _signed([secret], now), BODY)
    moved = _signed([secret], now)
    moved["webhook-timestamp"] = str(now - 1)  # the signature covers the timestamp too
    assert not verify(secret, moved, BODY)
    assert not verify(secret, {}, BODY)


def test_while_a_secret_rotates_both_sign_so_either_receiver_accepts() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = _signed([new, old], int(time.time()))
    assert len(headers["webhook-signature"].split()) == 2
    assert verify(old, headers, BODY) and verify(new, headers, BODY)


@pytest.mark.parametrize("failures", [1, 2, 5, 12])
def test_backoff_doubles_with_jitter_up_to_a_cap(failures: int) -> None:
    delay = min(60.0, 2.0 * 2 ** (failures - 1))
    waits = [signing.backoff(failures, 2.0, 60.0, random.Random(i)) for i in range(50)]
    assert all(delay / 2 <= w <= delay for w in waits) and len(set(waits)) > 1


def test_support_meeting_types_only_for_a_declared_member_body() -> None:
    offered = {"ReferralRequested", "MeetingDecided", "CaseTabled", "MemberJoined"}
    assert routing.refused_types(["ReferralRequested", "MeetingDecided", "CaseTabled", "Nope"],
                                 offered, False) == ["MeetingDecided", "CaseTabled", "Nope"]
    assert routing.refused_types(["MeetingDecided", "MemberJoined"], offered, True) == []
    assert routing.delivery_id(uuid.UUID(int=1), uuid.UUID(int=2)) == \
        routing.delivery_id(uuid.UUID(int=1), uuid.UUID(int=2))
