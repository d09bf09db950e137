"""Webhook signing secrets are sealed at rest: shown once when issued, never listed, never in
the clear in notifications' database (also those kept in the clear before the upgrade), and
deliveries are still signed with them."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx

from infra.examples.webhook_receiver import Receiver
from infra.local.stack import Stack
from services.notifications.webhooks import signing
from tests.helpers import Connect, bearer, consultation, delivered, eventually

OFFSET = int(os.environ.get("TSUNAGU_TEST_PORT_OFFSET", "0"))
PORT = 28710 + OFFSET  # test_notifications.py listens on 28700 and 28701


async def _kept(db: Connect, sid: str) -> tuple[bytes, bytes | None]:
    conn = await db("notifications")
    try:
        row = await conn.fetchrow("SELECT secret, previous_secret FROM webhook_subscribers "
                                  "WHERE id = $1", uuid.UUID(sid))
    finally:
        await conn.close()
    assert row is not None
    return bytes(row["secret"]), row["previous_secret"] and bytes(row["previous_secret"])


def _in_clear(secret: str, kept: bytes) -> bool:
    raw = secret.removeprefix(signing.PREFIX)
    return secret.encode() in kept or raw.encode() in kept or signing.PREFIX.encode() in kept


async def test_a_secret_is_shown_once_and_kept_sealed(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    ops = bearer(stack.token("ops-1"))
    hooks = stack.url("notifications") + "/webhooks/subscribers"
    r = await http.post(hooks, headers=ops, json={"url": "http://127.0.0.1:9/hook",
                                                  "event_types": ["ReferralRequested"]})
    assert r.status_code == 201, r.text
    sid, first = r.json()["id"], r.json()["secret"]
    rotated = await http.post(f"{hooks}/{sid}/secret", headers=ops)
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["secret"]

    listed = await http.get(hooks, headers=ops)
    assert listed.status_code == 200
    [mine] = [s for s in listed.json() if s["id"] == sid]
    assert "secret" not in mine and mine["rotating"] is True
    assert first not in listed.text and second not in listed.text
    secret, previous = await _kept(db, sid)
    assert previous is not None
    assert not _in_clear(second, secret) and not _in_clear(first, previous)
    assert first not in stack.log("notifications").read_text()


async def test_a_secret_kept_in_the_clear_is_sealed_and_still_signs(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    """A subscriber registered before the upgrade: its secret in the clear (as notifications
    migration 0007 leaves it) is sealed by the service, and its deliveries verify with it."""
    legacy, sid = signing.new_secret(), uuid.uuid4()
    conn = await db("notifications")
    try:
        await conn.execute(
            "INSERT INTO webhook_subscribers (id, municipality, url, event_types, "
            "support_meeting_member, secret, created_by, created_at) "
            "VALUES ($1, $2, $3, $4, false, convert_to($5, 'UTF8'), 'ops-1', now())",
            sid, "132187", f"http://127.0.0.1:{PORT}/hook", ["ReferralRequested"], legacy)
    finally:
        await conn.close()

    async def sealed() -> bool:
        return not _in_clear(legacy, (await _kept(db, str(sid)))[0])
    await eventually(sealed, what="the secret sealed")

    sample = Receiver(PORT, legacy).start()
    try:
        office = bearer(stack.token("a-houkatsu"))
        posted = await http.post(stack.url("intake") + "/consultations",
                                 json=consultation("houkatsu-1"), headers=bearer(stack.token("w-kaigo")))
        assert posted.status_code == 201, posted.text
        referral, _ = await eventually(
            lambda: delivered(http, stack, "houkatsu-1", office, posted.json()["id"]), what="inbox item")

        async def hook() -> list[dict[str, Any]]:
            return [e for e in sample.events.values() if e["data"]["referral_id"] == referral["id"]]
        assert len(await eventually(hook, what="the signed delivery")) == 1
        assert sample.rejected == 0
    finally:
        sample.stop()
