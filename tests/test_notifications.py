"""Everyone hears what concerns them: office and personal inboxes, and signed webhooks into a
division's own system (the sample receiver of infra/examples), through the real broker."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from infra.examples.webhook_receiver import Receiver
from infra.local.stack import Stack
from services.notifications import digest
from tests.helpers import Connect, bearer, consultation, delivered, eventually, read_topic

OFFSET = int(os.environ.get("TSUNAGU_TEST_PORT_OFFSET", "0"))
PORT, SMTP_PORT = 28700 + OFFSET, 28900 + OFFSET  # the SMTP port conftest gives notifications


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback: what it accepted, as received."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"


def _text(raw: bytes) -> str:
    body = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    server = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    server.start()
    yield box
    server.stop()


async def _subscribe(http: httpx.AsyncClient, stack: Stack, port: int, types: list[str],
                     **extra: Any) -> httpx.Response:
    return await http.post(stack.url("notifications") + "/webhooks/subscribers",
                           headers=bearer(stack.token("ops-1")),
                           json={"url": f"http://127.0.0.1:{port}/hook", "event_types": types, **extra})


@pytest.fixture
async def receiver(stack: Stack, http: httpx.AsyncClient) -> AsyncIterator[tuple[Receiver, str]]:
    """A division's system listening for ReferralRequested, subscribed by an operator."""
    r = await _subscribe(http, stack, PORT, ["ReferralRequested"])
    assert r.status_code == 201, r.text
    sample = Receiver(PORT, r.json()["secret"]).start()
    yield sample, r.json()["id"]
    sample.stop()


async def _published(stack: Stack, keys: set[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """notifications' events keyed by these ids (a delivery's all share its id: one partition,
    in order), as (type, data), once a NotificationDelivered was read for each key. Each event
    once: a relay killed between publishing a row and marking it sent publishes it again after the
    restart (at-least-once), under the same CloudEvents id, which every consumer's inbox drops."""
    def mine(found: list[dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        by_key: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        seen: set[str] = set()
        for r in found:
            if r["key"] in keys and r["ce_id"] not in seen:
                seen.add(r["ce_id"])
                by_key.setdefault(r["key"], []).append((r["ce_type"].split(".")[-2],
                                                        json.loads(r["value"])))
        return by_key

    def each_delivered(found: list[dict[str, Any]]) -> bool:
        by_key = mine(found)
        return all(any(t == "notification_delivered" for t, _ in by_key.get(k, [])) for k in keys)
    return mine(await read_topic(stack, "notifications.events", each_delivered,
                                 what="NotificationDelivered of each delivery"))


async def _consultations(http: httpx.AsyncClient, stack: Stack, n: int) -> list[str]:
    window = bearer(stack.token("w-kaigo"))
    ids = []
    for _ in range(n):
        posted = await http.post(stack.url("intake") + "/consultations",
                                 json=consultation("houkatsu-1"), headers=window)
        assert posted.status_code == 201, posted.text
        ids.append(posted.json()["id"])
    return ids


async def test_a_referral_reaches_the_office_inbox_the_division_system_and_staff_mail(
        stack: Stack, http: httpx.AsyncClient, receiver: tuple[Receiver, str], mailbox: Mailbox) -> None:
    sample, _ = receiver
    office = bearer(stack.token("a-houkatsu"))
    [cid] = await _consultations(http, stack, 1)
    referral, item = await eventually(lambda: delivered(http, stack, "houkatsu-1", office, cid),
                                      what="inbox item")
    assert item["kind"] == "ReferralRequested" and item["link"] == f"/referrals/{referral['id']}"
    assert item["read_at"] is None and item["recipient_kind"] == "office"

    async def hook() -> Any:
        return [e for e in sample.events.values() if e["data"]["referral_id"] == referral["id"]]

    [event] = await eventually(hook, what="the signed webhook delivery")
    assert event["type"] == "jp.tsunagu.referral.referral_requested.v1" and event["specversion"] == "1.0"
    assert "main_complaint" not in str(event) and sample.rejected == 0
    ops, hook_id = bearer(stack.token("ops-1")), next(k for k, e in sample.events.items() if e is event)

    async def settled() -> Any:
        d = (await http.get(stack.url("notifications") + f"/webhooks/deliveries/{hook_id}",
                            headers=ops)).json()
        return d if d["status"] == "delivered" else None

    assert [a["status_code"] for a in (await eventually(settled))["attempt_log"]] == [204]

    async def mailed() -> Any:
        return [(to, raw, text) for to, raw in mailbox.mails
                if referral["id"] in (text := _text(raw))]

    [(to, raw, text)] = await eventually(mailed, what="the staff's e-mail")
    assert to == ["houkatsu-staff@houkatsu.example.jp"]  # houkatsu-1's staff, nobody else
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["subject"] == "【つなぐ】新しいつなぎ依頼（緊急度: 高）" and b"=?utf-8?" in raw.lower()
    assert "ひきこもり" not in text

    # Each channel's delivery is published once, with what it was about and to whom.
    email_id = mail["message-id"].strip("<>").removesuffix("@tsunagu")
    published = await _published(stack, {item["id"], hook_id, email_id})
    about = {"about_type": "ReferralRequested", "about_id": referral["id"]}
    for key, channel, kind, recipient in ((item["id"], "inbox", "agency", "houkatsu-1"),
                                          (hook_id, "webhook", "agency", receiver[1]),
                                          (email_id, "email", "user", "a-houkatsu")):
        [(event_type, data)] = published[key]
        assert event_type == "notification_delivered" and data["channel"] == channel, data
        assert data["recipient_kind"] == kind and data["recipient_id"] == recipient, data
        assert about.items() <= data.items(), data

    url = stack.url("notifications")
    other = bearer(stack.token("a-soudan"))  # staff of another agency
    assert (await http.get(url + "/inbox/houkatsu-1", headers=other)).status_code == 403
    assert (await http.post(url + f"/inbox/houkatsu-1/{item['id']}/read", headers=other)).status_code == 403
    assert (await http.post(url + f"/me/inbox/{item['id']}/read", headers=other)).status_code == 404
    read = await http.post(url + f"/inbox/houkatsu-1/{item['id']}/read", headers=office)
    assert read.json() == {"marked": 1}
    unread = await http.get(url + "/inbox/houkatsu-1", params={"unread": "true", "limit": 200},
                            headers=office)
    assert item["id"] not in [i["id"] for i in unread.json()]
    assert (await http.post(url + "/inbox/houkatsu-1/read", headers=office)).status_code == 200
    after = await http.get(url + "/inbox/houkatsu-1", params={"kind": "ReferralRequested"}, headers=office)
    assert after.headers["x-unread-count"] == "0" and all(i["read_at"] for i in after.json())
    too_many = await http.get(url + "/inbox/houkatsu-1", params={"limit": 201}, headers=office)
    assert too_many.status_code == 422
    # Operators only: the deliveries are a division's business, not a worker's.
    assert (await http.get(url + "/webhooks/deliveries", headers=office)).status_code == 403
    assert (await _subscribe(http, stack, PORT, ["CaseTabled"])).status_code == 422  # 支援会議 material


async def test_a_failing_subscriber_is_parked_then_replayed(stack: Stack, http: httpx.AsyncClient) -> None:
    r = await _subscribe(http, stack, PORT + 1, ["ReferralRequested"])
    sid, ops = r.json()["id"], bearer(stack.token("ops-1"))
    sample = Receiver(PORT + 1, r.json()["secret"], fail_next=10_000).start()
    url = stack.url("notifications")
    try:
        await _consultations(http, stack, 1)

        async def parked() -> Any:
            found = await http.get(url + "/webhooks/deliveries", headers=ops,
                                   params={"subscriber_id": sid, "status": "parked"})
            return found.json()

        [dead, *_] = await eventually(parked, what="a parked delivery")
        detail = (await http.get(url + f"/webhooks/deliveries/{dead['id']}", headers=ops)).json()
        assert [a["status_code"] for a in detail["attempt_log"]] == [503] * 5 and detail["failures"] == 5
        sample.fail_next = 0
        replayed = await http.post(url + f"/webhooks/deliveries/{dead['id']}/replay", headers=ops)
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"

        async def done() -> Any:
            return (await http.get(url + f"/webhooks/deliveries/{dead['id']}", headers=ops)).json() \
                if dead["id"] in sample.events else None

        final = await eventually(done, what="the replayed delivery")
        assert final["status"] == "delivered" and len(final["attempt_log"]) == 6
        assert (await http.post(url + f"/webhooks/deliveries/{dead['id']}/replay",
                                headers=ops)).status_code == 409
        # Published with each change of the delivery: five failures, parked, then delivered once.
        history = (await _published(stack, {dead["id"]}))[dead["id"]]
        assert [t for t, _ in history] == ["webhook_delivery_failed"] * 5 + [
            "webhook_parked", "notification_delivered"]
        assert history[-1][1]["channel"] == "webhook" and history[-1][1]["recipient_id"] == sid
    finally:
        sample.stop()


async def test_a_support_meeting_item_says_only_that_there_is_one(stack: Stack,
                                                                  http: httpx.AsyncClient) -> None:
    meetings, chair = stack.url("meetings"), bearer(stack.token("c-desk"))
    now = datetime.now(UTC).isoformat()
    m = await http.post(meetings + "/meetings", headers=chair, json={
        "kind": "support_meeting", "title": "支援会議 通知", "scheduled_for": now})
    assert m.status_code == 201, m.text
    meeting = m.json()["id"]
    for user, agency in (("w-kaigo", "div-kaigo"), ("a-houkatsu", "houkatsu-1")):
        joined = await http.post(meetings + f"/meetings/{meeting}/members", headers=chair,
                                 json={"user_id": user, "agency": agency, "pledged_at": now})
        assert joined.status_code == 201, joined.text
    [cid] = await _consultations(http, stack, 1)
    member, window = bearer(stack.token("a-houkatsu")), bearer(stack.token("w-kaigo"))

    async def tabled() -> bool:
        r = await http.post(meetings + f"/meetings/{meeting}/agenda", headers=window,
                            json={"consultation_ids": [cid]})
        return r.status_code == 201

    await eventually(tabled, what="the case tabled")

    async def personal() -> Any:
        items = (await http.get(stack.url("notifications") + "/me/inbox", headers=member,
                                params={"kind": ["CaseTabled", "MemberJoined"]})).json()
        mine = {i["kind"]: i for i in items if meeting in i["link"]}
        return mine if len(mine) == 2 else None

    mine = await eventually(personal, what="the member's personal inbox")
    item = mine["CaseTabled"]
    assert (item["title"], item["link"]) == ("支援会議に案件があります", f"/meetings/{meeting}")
    assert cid not in str(item) and item["recipient_kind"] == "user"
    # The member's personal inbox is theirs: another user's shows none of it.
    others = (await http.get(stack.url("notifications") + "/me/inbox",
                             headers=bearer(stack.token("a-soudan")))).json()
    assert not [i for i in others if meeting in i["link"]]


async def test_no_duplicates_after_a_restart_mid_batch(
        stack: Stack, http: httpx.AsyncClient, db: Connect, receiver: tuple[Receiver, str],
        mailbox: Mailbox) -> None:
    sample, sid = receiver
    ids = await _consultations(http, stack, 15)
    stack.stop_service("notifications", kill=True)  # mid-batch: events in flight, deliveries queued
    more = await _consultations(http, stack, 5)
    stack.start_service("notifications")
    conn: asyncpg.Connection = await db("notifications")
    referral = await db("referral")
    try:
        referrals = [r["id"] for r in await referral.fetch(
            "SELECT id FROM referrals WHERE consultation_id = ANY($1::uuid[])",
            [uuid.UUID(c) for c in ids + more])]

        async def all_there() -> Any:
            items = await conn.fetchval("SELECT count(*) FROM inbox_items WHERE about_id = ANY($1::uuid[])",
                                        referrals)
            hooks = {e["data"]["referral_id"] for e in sample.events.values()} & {str(r) for r in referrals}
            return len(referrals) == 20 and items == 20 and len(hooks) == 20

        await eventually(all_there, timeout=90, what="every inbox item and webhook delivery")
        await asyncio.sleep(1)  # anything late would be a duplicate
        assert await conn.fetchval("SELECT count(*) FROM inbox_items WHERE about_id = ANY($1::uuid[])",
                                   referrals) == 20
        per_event = [e["data"]["referral_id"] for e in sample.events.values()
                     if e["data"]["referral_id"] in {str(r) for r in referrals}]
        assert len(per_event) == 20  # one delivery id per event; repeats of one id are dropped
        mails = await conn.fetch("SELECT e.id, e.status FROM email_outbox e JOIN inbox_items i "
                                 "ON i.id = e.item_id WHERE i.about_id = ANY($1::uuid[])", referrals)
        assert len(mails) == 20  # one e-mail per item per staff member (houkatsu-1 has one address)
        message_ids = {f"<{m['id']}@tsunagu>" for m in mails}
        sent = [email.message_from_bytes(raw, policy=email.policy.default)["message-id"]
                for _, raw in mailbox.mails]
        assert all(sent.count(i) <= 1 for i in message_ids)  # the server took each once
        assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE subscriber_id = $1 "
                                   "AND status = 'delivered'", uuid.UUID(sid)) >= 20
        hooks = {str(r[0]) for r in await conn.fetch(
            "SELECT id FROM webhook_deliveries WHERE subscriber_id = $1 AND about_id = ANY($2::uuid[])",
            uuid.UUID(sid), referrals)}
        published = await _published(stack, hooks | {str(m["id"]) for m in mails})
        assert len(hooks) == 20 and all(len(events) == 1 for events in published.values())
    finally:
        await conn.close()
        await referral.close()


async def test_the_daily_digest_counts_unread_items_once_a_working_day(
        stack: Stack, http: httpx.AsyncClient, mailbox: Mailbox) -> None:
    url, office = stack.url("notifications"), bearer(stack.token("a-houkatsu"))
    await _consultations(http, stack, 1)  # something unread in houkatsu-1's inbox

    async def unread() -> Any:
        r = await http.get(url + "/inbox/houkatsu-1", params={"unread": "true"}, headers=office)
        return int(r.headers["x-unread-count"]) or None

    count = await eventually(unread, what="an unread item")
    shift = 0.0
    while digest.due(datetime.now(UTC) + timedelta(seconds=shift), 0) is None:
        shift += 86400  # the digest goes on working days only: move every clock to the next one
    stack.shift_clock(shift)
    try:
        assert (await http.put(url + "/me/digest", json={"enabled": True}, headers=office)).json() == \
            {"enabled": True}

        async def digested() -> Any:
            return [_text(raw) for to, raw in mailbox.mails if "未読のお知らせ" in str(
                email.message_from_bytes(raw, policy=email.policy.default)["subject"])]

        [text] = await eventually(digested, what="the digest")
        assert "ReferralRequested" in text and "/me/inbox?unread=true" in text and count >= 1
        await asyncio.sleep(2)  # the job runs every second: a second digest today would be here
        assert len(await digested()) == 1
    finally:
        stack.shift_clock(-shift)


async def test_a_scheduled_meeting_reaches_its_members_as_they_join_and_nobody_else(
        stack: Stack, http: httpx.AsyncClient) -> None:
    """A meeting is scheduled before its members are named: each hears of it as they join
    (its title only: nothing of the 支援会議), once; its chair's office and other staff do not."""
    meetings, notifications = stack.url("meetings"), stack.url("notifications")
    title = f"支援会議 {uuid.uuid4().hex[:6]}"
    r = await http.post(meetings + "/meetings", headers=bearer(stack.token("c-desk")), json={
        "kind": "support_meeting", "title": title, "scheduled_for": "2026-12-24T10:00:00+09:00"})
    assert r.status_code == 201, r.text
    meeting_id = r.json()["id"]
    members = {"a-houkatsu": "houkatsu-1", "a-soudan": "soudan-1"}
    for user, agency in members.items():
        joined = await http.post(meetings + f"/meetings/{meeting_id}/members",
                                 headers=bearer(stack.token("c-desk")),
                                 json={"user_id": user, "agency": agency,
                                       "pledged_at": datetime.now(UTC).isoformat()})
        assert joined.status_code == 201, joined.text

    async def told(user: str, path: str = "/me/inbox") -> list[dict[str, Any]]:
        r = await http.get(notifications + path, headers=bearer(stack.token(user)),
                           params={"kind": "MeetingScheduled", "limit": 200})
        assert r.status_code == 200, r.text
        return [i for i in r.json() if i["about_id"] == meeting_id]

    for user in members:
        [item] = await eventually(partial(told, user), what=f"{user} told of the meeting")
        assert item["title"] == "会議が予定されました" and item["link"] == f"/meetings/{meeting_id}"
        assert title not in json.dumps(item, ensure_ascii=False)
        joined_item = await http.get(notifications + "/me/inbox", headers=bearer(stack.token(user)),
                                     params={"kind": "MemberJoined", "limit": 200})
        assert any(i["about_id"] == meeting_id for i in joined_item.json())
    assert await told("c-desk") == [] and await told("c-desk", "/inbox/coordinators") == []
    assert await told("w-shogai") == [] and await told("a-konkyu") == []
