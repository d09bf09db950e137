"""Idempotency-Key: a client that repeats a creating POST after an error gets the first result
and creates nothing more, however the repeat arrives (later, concurrently, or with another body)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from infra.local.stack import Stack
from tests.helpers import Connect, bearer, consultation, eventually

AGENCY = "konkyu"  # an office of the directory: a test's consultations carry a marker of its own


def _marked(marker: str) -> dict[str, Any]:
    return consultation(AGENCY, main_complaint=f"家計の相談 {marker}")


async def _consultations_for(db: Connect, marker: str) -> tuple[int, int]:
    """(consultations at intake, inbox items at notifications) for the marked consultations."""
    intake, referral, notifications = await db("intake"), await db("referral"), await db("notifications")
    try:
        made = [r["id"] for r in await intake.fetch(
            "SELECT id FROM consultations WHERE main_complaint = $1", f"家計の相談 {marker}")]
        referrals = [r["id"] for r in await referral.fetch(
            "SELECT id FROM referrals WHERE consultation_id = ANY($1::uuid[])", made)]
        items = await notifications.fetchval("SELECT count(*) FROM inbox_items WHERE recipient_id = $1 "
                                             "AND about_id = ANY($2::uuid[])", AGENCY, referrals)
        return len(made), items
    finally:
        await intake.close()
        await referral.close()
        await notifications.close()


async def test_a_repeated_post_answers_the_first_result_and_creates_nothing(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    marker, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    window = bearer(stack.token("w-kaigo")) | {"Idempotency-Key": key}
    url = stack.url("intake") + "/consultations"
    first = await http.post(url, json=_marked(marker), headers=window)
    assert first.status_code == 201, first.text
    # The client saw an error and repeats, later and then five times at once.
    again = await http.post(url, json=_marked(marker), headers=window)
    burst = await asyncio.gather(*(http.post(url, json=_marked(marker), headers=window)
                                   for _ in range(5)))
    for repeat in (again, *burst):
        assert (repeat.status_code, repeat.json()) == (201, first.json())
        assert repeat.headers["location"] == first.headers["location"]
    # Each answer given again is a read on record, before it answered, naming what the write made.
    intake = await db("intake")
    try:
        replays = await intake.fetch(
            "SELECT user_id, action, outcome FROM audit_events WHERE object_type = "
            "'idempotent_answer' AND object_id = $1", first.headers["location"])
    finally:
        await intake.close()
    assert [tuple(r) for r in replays] == [("w-kaigo", "read", "permitted")] * 6

    async def delivered() -> tuple[int, int] | None:
        counts = await _consultations_for(db, marker)
        return counts if counts[1] >= 1 else None
    assert await eventually(delivered, what="the consultation's inbox item") == (1, 1)
    await asyncio.sleep(1.0)  # a second case, had one been made, would arrive within this
    assert await _consultations_for(db, marker) == (1, 1)


async def test_concurrent_first_requests_with_one_key_make_one_effect(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    marker, key = f"idem-race-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    window = bearer(stack.token("w-kaigo")) | {"Idempotency-Key": key}
    url = stack.url("intake") + "/consultations"
    answers = await asyncio.gather(*(http.post(url, json=_marked(marker), headers=window)
                                     for _ in range(6)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1

    async def delivered() -> tuple[int, int] | None:
        counts = await _consultations_for(db, marker)
        return counts if counts[1] >= 1 else None
    assert await eventually(delivered, what="the consultation's inbox item") == (1, 1)


async def test_a_key_is_the_users_own_and_bound_to_its_request(
        stack: Stack, http: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    url = stack.url("intake") + "/consultations"
    kaigo = bearer(stack.token("w-kaigo")) | {"Idempotency-Key": key}
    first = await http.post(url, json=consultation("konkyu"), headers=kaigo)
    assert first.status_code == 201

    other_body = await http.post(url, json=consultation("houkatsu-1"), headers=kaigo)
    assert other_body.status_code == 422
    assert other_body.headers["content-type"] == "application/problem+json"
    assert other_body.json()["type"] == "urn:tsunagu:problem:idempotency-key"

    # Another user's identical key is another request: theirs, not a replay of ours.
    shogai = bearer(stack.token("w-shogai")) | {"Idempotency-Key": key}
    theirs = await http.post(url, json=consultation("konkyu"), headers=shogai)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


async def test_meetings_answer_repeats_too(stack: Stack, http: httpx.AsyncClient) -> None:
    coordinator = bearer(stack.token("c-desk")) | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"kind": "support_meeting", "title": "定例支援会議", "scheduled_for": "2026-12-24T10:00:00+09:00"}
    url = stack.url("meetings") + "/meetings"
    first = await http.post(url, json=body, headers=coordinator)
    assert first.status_code == 201, first.text
    again = await http.post(url, json=body, headers=coordinator)
    assert (again.status_code, again.json()) == (201, first.json())


async def test_a_kept_answer_holds_no_personal_data_at_rest(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    tag = uuid.uuid4().hex[:6]
    person = {"family_name": f"保持{tag}", "given_name": "花子", "family_kana": f"ホジ{tag}",
              "given_kana": "ハナコ", "phone": "042-555-0199", "address": "福生市本町5-5"}
    key = str(uuid.uuid4())
    window = bearer(stack.token("w-kaigo")) | {"Idempotency-Key": key}
    url = stack.url("intake") + "/persons"
    first = await http.post(url, json=person, headers=window)
    assert first.status_code == 201, first.text
    again = await http.post(url, json=person, headers=window)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert (await http.post(url, json=person | {"phone": "042-555-0100"},
                            headers=window)).status_code == 422

    intake = await db("intake")
    try:
        row = await intake.fetchrow("SELECT * FROM idempotency_keys WHERE key = $1", key)
    finally:
        await intake.close()
    assert row is not None and row["status"] == 201
    at_rest = repr(dict(row)).encode() + bytes(row["body"])
    for value in ("保持" + tag, "ホジ" + tag, "042-555-0199", "福生市本町", "花子", "ハナコ"):
        assert value.encode() not in at_rest and value not in repr(dict(row)), value
    assert first.json()["id"].encode() not in bytes(row["body"])  # sealed, not merely filtered
