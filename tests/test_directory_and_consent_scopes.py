"""Issue 7, holes 6, 4, 9, 5 and 3, through the HTTP API of the running services.

Who staffs which office is the directory's (referral's), followed by every service; consents
name legal bodies and carry safeguards; only real offices take hand-overs; what an agency was
handed stays with it while nothing new reaches it; one person's consent never covers another.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from infra.local.stack import Stack
from tests.helpers import bearer, delivered, eventually

DESK = "general-desk"


class User:
    """A seeded user talking to the services."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack, user: str) -> None:
        self.http, self.stack, self.headers = http, stack, bearer(stack.token(user))

    async def call(self, method: str, service: str, path: str, body: Any = None,
                   status: int | None = None, **params: Any) -> httpx.Response:
        r = await self.http.request(method, self.stack.url(service) + path, json=body,
                                    params=params or None, headers=self.headers)
        if status is not None:
            assert r.status_code == status, r.text
        return r

    async def post(self, path: str, body: Any, status: int = 201) -> Any:
        return (await self.call("POST", "intake", path, body, status)).json()

    async def status(self, service: str, path: str, **params: Any) -> int:
        return (await self.call("GET", service, path, **params)).status_code


@pytest.fixture
def users(http: httpx.AsyncClient, stack: Stack) -> dict[str, User]:
    names = ("w-kaigo", "c-desk", "c-desk-2", "c-shakyo", "a-houkatsu", "a-konkyu", "partner-minsei")
    return {n: User(http, stack, n) for n in names}


async def _person(window: User, born: str = "1950-06-15") -> str:
    tag = uuid.uuid4().hex[:6]
    return str((await window.post("/persons", {
        "family_name": "熊川", "given_name": f"一{tag}", "family_kana": "クマガワ",
        "given_kana": "ハジメ", "birth_date": born}))["id"])


def _consultation(destination: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"channel": "visit", "main_complaint": "家計と介護の相談", "categories": ["debt"],
            "destination": destination, **extra}


async def _statuses(user: User, *calls: tuple[str, str]) -> list[int]:
    return [await user.status(service, path) for service, path in calls]


# -- hole 6: the directory ------------------------------------------------------------------

async def test_the_shakyo_coordinator_does_not_act_for_the_city_desk(
        users: dict[str, User], stack: Stack, http: httpx.AsyncClient) -> None:
    directory = (await users["w-kaigo"].call("GET", "referral", "/directory", status=200)).json()
    file = json.loads((stack.home / "directory.json").read_text())  # served as stored, whole
    assert directory["revision"] >= 1
    assert [o["id"] for o in directory["offices"]] == [o["id"] for o in file["offices"]]
    offices = {o["id"]: o for o in directory["offices"]}
    assert offices[DESK]["legal_body"] == "city" and "c-shakyo" not in offices[DESK]["staff"]
    assert offices["shakyo"]["legal_body"] == "shakyo-hojin" and "c-shakyo" in offices["shakyo"]["staff"]

    c = await users["w-kaigo"].post("/consultations", _consultation({"kind": "general_desk"}))
    await eventually(lambda: delivered(http, stack, DESK, users["c-desk"].headers, c["id"]),
                     what="the desk's inbox item")
    desk = [("intake", f"/consultations/{c['id']}"), ("notifications", f"/inbox/{DESK}"),
            ("referral", f"/referrals?agency={DESK}")]
    assert await _statuses(users["c-desk-2"], *desk) == [200, 200, 200]
    assert await _statuses(users["c-shakyo"], *desk) == [403, 403, 403]


async def test_an_operators_edit_of_the_directory_reaches_every_service(
        users: dict[str, User], stack: Stack) -> None:
    c = await users["w-kaigo"].post("/consultations", _consultation({"kind": "general_desk"}))
    desk = [("intake", f"/consultations/{c['id']}"), ("notifications", f"/inbox/{DESK}"),
            ("referral", f"/referrals?agency={DESK}")]
    path = stack.home / "directory.json"
    seeded = path.read_text()
    edited = json.loads(seeded)
    for office in edited["offices"]:
        if office["id"] == DESK:  # c-desk-2 moves away from the desk
            office["staff"] = ["c-desk"]
    try:
        path.write_text(json.dumps(edited, ensure_ascii=False))
        await eventually(lambda: _all(users["c-desk-2"], desk, 403), what="the move everywhere")
    finally:
        path.write_text(seeded)
    await eventually(lambda: _all(users["c-desk-2"], desk, 200), what="the move undone everywhere")


async def test_the_directory_is_published_again_within_the_topics_retention(
        db: Callable[[str], Awaitable[asyncpg.Connection]]) -> None:
    """A service deployed later still finds the directory on the topic (streams keep 30 days)."""
    conn = await db("referral")
    try:
        since = await conn.fetchval("SELECT clock_timestamp()")
        revision = await conn.fetchval("UPDATE directory_revisions SET published_at = now() - "
                                       "interval '8 days' WHERE revision = (SELECT max(revision) "
                                       "FROM directory_revisions) RETURNING revision")

        async def republished() -> bool:
            return bool(await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE type = 'jp.tsunagu.referral.directory_changed.v1'"
                " AND key = $1 AND created_at > $2", str(revision), since))

        await eventually(republished, what="the same revision published again")
    finally:
        await conn.close()


async def _all(user: User, calls: list[tuple[str, str]], status: int) -> bool:
    return set(await _statuses(user, *calls)) == {status}


# -- hole 4: consent safeguards ------------------------------------------------------------

async def test_a_minors_consent_is_given_by_a_guardian(users: dict[str, User]) -> None:
    child = await _person(users["w-kaigo"], born="2012-12-31")  # 13 years old
    path = f"/persons/{child}/consents"
    refused = await users["w-kaigo"].post(path, {"agencies": ["konkyu-hojin"], "method": "oral"}, 422)
    assert "保護者" in refused["detail"] and "guardian" in refused["detail"]
    given = await users["w-kaigo"].post(path, {"agencies": ["konkyu-hojin"], "method": "oral",
                                               "given_by": "guardian", "given_by_name": "母"})
    assert given["given_by"] == "guardian"
    adult = await _person(users["w-kaigo"], born="2010-01-01")  # 16: consents for themselves
    await users["w-kaigo"].post(f"/persons/{adult}/consents", {"agencies": ["city"], "method": "oral"})


async def test_every_participating_body_is_an_explicit_choice_with_evidence(
        users: dict[str, User]) -> None:
    person = await _person(users["w-kaigo"])
    path = f"/persons/{person}/consents"
    wildcard = await users["w-kaigo"].post(path, {"agencies": ["*"], "method": "oral"}, 422)
    assert "all_participating" in wildcard["detail"]
    bare = await users["w-kaigo"].post(path, {"all_participating": True, "method": "oral"}, 422)
    assert "evidence_ref" in bare["detail"]
    assert await users["a-konkyu"].status("intake", f"/persons/{person}") == 403
    everyone = await users["w-kaigo"].post(path, {"all_participating": True, "method": "written",
                                                  "evidence_ref": "同意書-2026-0107"})
    assert everyone["all_participating"] is True and everyone["agencies"] == []
    assert await users["a-konkyu"].status("intake", f"/persons/{person}") == 200
    assert await users["partner-minsei"].status("intake", f"/persons/{person}") == 403


async def test_a_scope_names_bodies_of_the_directory(users: dict[str, User]) -> None:
    person = await _person(users["w-kaigo"])
    unknown = await users["w-kaigo"].post(f"/persons/{person}/consents", {
        "agencies": ["konkyu-hojin", "nowhere-npo", "houkatsu-x"], "method": "oral"}, 422)
    assert unknown["unknown"] == ["nowhere-npo", "houkatsu-x"]
    assert "nowhere-npo" in unknown["detail"] and "GET /directory" in unknown["detail"]


# -- hole 9: only real destinations take hand-overs --------------------------------------

async def test_inboxes_and_unknown_ids_take_no_hand_overs(users: dict[str, User]) -> None:
    for office in ("audit", "minsei", "nowhere-npo"):
        refused = await users["w-kaigo"].post("/consultations", _consultation(
            {"kind": "agency", "agency": office}), 422)
        assert refused["type"] == "urn:tsunagu:problem:no-destination"
        assert office in refused["detail"] and "general desk" in refused["detail"]
    await users["w-kaigo"].post("/consultations", _consultation({"kind": "agency", "agency": "konkyu"}))


# -- hole 5: what was handed stays; nothing new reaches -----------------------------------

async def test_withdrawal_for_one_body_keeps_its_copy_and_stops_the_rest(
        users: dict[str, User], stack: Stack) -> None:
    window, houkatsu, konkyu = users["w-kaigo"], users["a-houkatsu"], users["a-konkyu"]
    person = await _person(window)
    consent = await window.post(f"/persons/{person}/consents", {
        "agencies": ["houkatsu-hojin", "konkyu-hojin"], "purposes": ["support", "health"],
        "method": "oral"})
    handed = await window.post("/consultations", _consultation(
        {"kind": "agency", "agency": "houkatsu-1"}, person_ids=[person], health_notes="糖尿病",
        handover={"reason": "介護保険の申請支援", "consent_id": consent["id"]}))
    desk = await window.post("/consultations", _consultation({"kind": "general_desk"},
                                                             person_ids=[person]))
    referral = await eventually(lambda: _referral_of(users["c-desk"], desk["id"]),
                                what="the desk's referral")
    live = [("intake", f"/consultations/{handed['id']}"), ("intake", f"/persons/{person}"),
            ("referral", f"/referrals/{referral}")]
    await eventually(lambda: _all(houkatsu, live, 200), what="the consent everywhere")

    withdrawn = await window.post(f"/consents/{consent['id']}/withdraw",
                                  {"reason": "包括への共有をやめたい", "only_for": ["houkatsu-hojin"]}, 200)
    assert withdrawn["status"] == "active" and withdrawn["withdrawn_for"] == ["houkatsu-hojin"]
    await eventually(lambda: _all(houkatsu, live, 403), timeout=10, what="withdrawal everywhere")
    assert await _statuses(konkyu, *live) == [200, 200, 200]  # still covered

    copy = (await houkatsu.call("GET", "intake", f"/consultations/{handed['id']}/handed-over-copy",
                                status=200)).json()
    assert copy["handed_over_copy"] is True and copy["consent_ids"] == [consent["id"]]
    assert copy["to_office"] == "houkatsu-1" and copy["handed_over_at"]
    assert copy["disclosed"]["consultation"]["health_notes"] == "糖尿病"  # the consent named health
    assert copy["disclosed"]["persons"][0]["id"] == person

    later = await window.post("/consultations", _consultation({"kind": "handled_here"},
                                                              person_ids=[person]))
    assert await houkatsu.status("intake", f"/consultations/{later['id']}") == 403
    assert await konkyu.status("intake", f"/consultations/{later['id']}") == 200
    await window.post(f"/consents/{consent['id']}/withdraw", {"reason": "全面撤回"}, 200)
    assert await konkyu.status("intake", f"/consultations/{later['id']}") == 403


async def _referral_of(user: User, consultation_id: str) -> str | None:
    r = await user.call("GET", "referral", "/referrals", agency=DESK, limit=200)
    mine = [x["id"] for x in r.json() if x["consultation_id"] == consultation_id]
    return mine[0] if mine else None


# -- hole 3: one person's consent is never another's --------------------------------------

async def test_each_person_handed_over_needs_their_own_consent(users: dict[str, User]) -> None:
    window, coordinator = users["w-kaigo"], users["c-desk"]
    mother, son = await _person(window), await _person(window, born="1975-03-03")
    mothers = await window.post(f"/persons/{mother}/consents", {"agencies": ["city"], "method": "oral"})
    both = _consultation({"kind": "coordinator"}, person_ids=[mother, son],
                         handover={"reason": "8050: 母の介護と息子のひきこもり",
                                   "consent_id": mothers["id"]})
    refused = await window.post("/consultations", both, 422)
    assert son in refused["detail"] and mother not in refused["detail"].split("/")[0]
    assert "支援会議" in refused["detail"] and "record a consent" in refused["detail"]
    assert await coordinator.status("intake", f"/persons/{son}") == 403

    sons = await window.post(f"/persons/{son}/consents", {"agencies": ["city"], "method": "oral"})
    both["handover"]["consent_ids"] = [sons["id"]]
    await window.post("/consultations", both)
    assert await coordinator.status("intake", f"/persons/{son}") == 200
