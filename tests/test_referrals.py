"""Issue 9: referrals with the loop closed and the escalation ladder, through the HTTP API of the
running services. A holder refers an existing consultation (nothing retyped) to an office of the
directory, sharing only what the person's consent covers; only the receiving office answers and
progresses it; only the referrer withdraws; each change is an event naming both offices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from infra.local import databases
from infra.local.stack import Stack
from tests.helpers import bearer, eventually, person, tag


class User:
    def __init__(self, http: httpx.AsyncClient, stack: Stack, user: str) -> None:
        self.http, self.stack, self.headers = http, stack, bearer(stack.token(user))

    async def call(self, method: str, service: str, path: str, body: Any = None,
                   status: int | None = None, **params: Any) -> Any:
        r = await self.http.request(method, self.stack.url(service) + path, json=body,
                                    params=params or None, headers=self.headers)
        if status is not None:
            assert r.status_code == status, r.text
        return r.json()

    async def act(self, referral: dict[str, Any], action: str, body: Any = None,
                  status: int = 200) -> Any:
        return await self.call("POST", "referral", f"/referrals/{referral['id']}/{action}",
                               body, status)


@pytest.fixture
def u(http: httpx.AsyncClient, stack: Stack) -> dict[str, User]:
    names = ("w-kaigo", "p-kaigo", "c-desk", "a-konkyu", "a-houkatsu", "auditor-1", "partner-minsei")
    return {n: User(http, stack, n) for n in names}


async def _case(window: User, *agencies: str) -> tuple[str, str]:
    """A person who came to the window, their consent (to `agencies`), and their consultation."""
    p = (await window.call("POST", "intake", "/persons", person(tag()), 201))["id"]
    await window.call("POST", "intake", f"/persons/{p}/consents",
                      {"agencies": list(agencies), "method": "oral"}, 201)
    c = await window.call("POST", "intake", "/consultations", {
        "channel": "visit", "main_complaint": "家計の相談", "categories": ["debt"],
        "person_ids": [p], "present_ids": [p], "destination": {"kind": "handled_here"}}, 201)
    return p, c["id"]


async def _refer(user: User, consultation: str, to: str, status: int = 201,
                 **more: Any) -> Any:
    """Refer, once referral has the consultation's routing facts (it learns them from intake)."""
    body = {"consultation_id": consultation, "to_office": to, "reason": "specialist_support", **more}

    async def attempt() -> Any:
        r = await user.http.post(user.stack.url("referral") + "/referrals", json=body,
                                 headers=user.headers)
        return None if r.status_code == 404 else r
    r = await eventually(attempt, what="referral knows the consultation")
    assert r.status_code == status, r.text
    return r.json()


async def _events(stack: Stack, referral_id: str) -> list[str]:
    conn = await asyncpg.connect(databases.service_dsn(stack.postgres_port, "referral"))
    try:
        rows = await conn.fetch("SELECT type, payload FROM outbox WHERE key = $1 ORDER BY seq", referral_id)
    finally:
        await conn.close()
    return [r["type"].rsplit(".", 2)[-2] for r in rows]


async def test_refused_without_consent_then_the_loop_closes(u: dict[str, User], stack: Stack) -> None:
    _, c = await _case(u["w-kaigo"], "city")
    refused = await _refer(u["w-kaigo"], c, "konkyu", 403)
    assert "同意" in refused["detail"] and "consent" in refused["detail"] and "支援会議" in refused["detail"]
    incoming = await u["a-konkyu"].call("GET", "referral", "/referrals", agency="konkyu",
                                        limit=200, status=200)
    assert c not in [x["consultation_id"] for x in incoming]  # nothing reached the agency

    p2, c2 = await _case(u["w-kaigo"], "city", "konkyu-hojin")
    r = await _refer(u["w-kaigo"], c2, "konkyu")
    assert (r["status"], r["from_division"], r["reason"], r["person_ids"]) == \
        ("requested", "div-kaigo", "specialist_support", [p2])
    await _refer(u["w-kaigo"], c2, "konkyu", 409)  # one live referral per office
    # Another agency reads and writes nothing of it; the referrer answers nothing.
    await u["a-houkatsu"].call("GET", "referral", f"/referrals/{r['id']}", status=403)
    await u["a-houkatsu"].act(r, "accept", status=403)
    await u["w-kaigo"].act(r, "accept", status=403)
    await u["a-konkyu"].act(r, "withdraw", status=403)
    for outsider in ("auditor-1", "partner-minsei"):
        await u[outsider].act(r, "accept", status=403)
    await u["a-konkyu"].call("GET", "referral", f"/referrals/{r['id']}", status=200)
    await u["a-konkyu"].act(r, "start", status=409)  # accepted first
    assert (await u["a-konkyu"].act(r, "accept"))["status"] == "accepted"
    assert (await u["a-konkyu"].act(r, "start"))["status"] == "in_progress"
    await u["a-konkyu"].act(r, "complete", {"outcome": "fine"}, status=422)
    done = await u["a-konkyu"].act(r, "complete", {"outcome": "got_help"})
    assert (done["status"], done["outcome"]) == ("completed", "got_help")
    await u["w-kaigo"].act(r, "withdraw", status=409)
    sent = await u["w-kaigo"].call("GET", "referral", "/referrals", agency="div-kaigo", sent="true",
                                   limit=200, status=200)
    assert [x["status"] for x in sent if x["id"] == r["id"]] == ["completed"]
    assert await _events(stack, r["id"]) == ["referral_requested", "referral_accepted",
                                              "referral_started", "referral_completed"]


async def test_declined_with_a_reason_referred_again_and_withdrawn(u: dict[str, User],
                                                                   stack: Stack) -> None:
    _, c = await _case(u["w-kaigo"], "konkyu-hojin", "houkatsu-hojin")
    r = await _refer(u["w-kaigo"], c, "konkyu")
    await u["a-konkyu"].act(r, "decline", {"reason": "busy"}, status=422)
    declined = await u["a-konkyu"].act(r, "decline", {"reason": "no_capacity"})
    assert (declined["status"], declined["decline_reason"]) == ("declined", "no_capacity")
    await u["a-konkyu"].act(r, "accept", status=409)
    again = await _refer(u["w-kaigo"], c, "houkatsu-1")
    withdrawn = await u["w-kaigo"].act(again, "withdraw")
    assert withdrawn["status"] == "withdrawn"
    await u["a-houkatsu"].act(again, "accept", status=409)
    assert await _events(stack, r["id"]) == ["referral_requested", "referral_declined"]
    assert await _events(stack, again["id"]) == ["referral_requested", "referral_withdrawn"]


async def test_the_escalation_ladder(u: dict[str, User], stack: Stack) -> None:
    _, c = await _case(u["w-kaigo"], "city", "konkyu-hojin")
    up = await _refer(u["w-kaigo"], c, "promoter:div-kaigo", reason="unclear_where_to_go")
    assert up["destination_kind"] == "promoter"
    assert await _events(stack, up["id"]) == ["referral_requested", "escalated_to_promoter"]
    inbox = await u["p-kaigo"].call("GET", "referral", "/referrals", agency="promoter:div-kaigo",
                                    limit=200, status=200)
    assert up["id"] in [x["id"] for x in inbox]
    # p-kaigo staffs the division window and its promoter desk: they say which office acts.
    await _refer(u["p-kaigo"], c, "konkyu", 422, escalated_from=up["id"])
    onward = await _refer(u["p-kaigo"], c, "konkyu", from_office="promoter:div-kaigo",
                          escalated_from=up["id"])
    assert (onward["from_division"], onward["escalated_from"]) == ("promoter:div-kaigo", up["id"])
    several = await _refer(u["p-kaigo"], c, "coordinators", from_office="promoter:div-kaigo",
                           escalated_from=up["id"], reason="several_agencies")
    assert several["destination_kind"] == "coordinator"
    assert await _events(stack, several["id"]) == ["referral_requested", "escalated_to_coordinator"]
    assert (await u["c-desk"].act(several, "accept"))["status"] == "accepted"
    answered = await u["p-kaigo"].act(up, "complete", {"outcome": "partly"})
    assert answered["status"] == "completed"
    # A stranger to the case cannot escalate it.
    await _refer(u["a-houkatsu"], c, "coordinators", 403)


async def test_the_intake_handover_joins_the_lifecycle(u: dict[str, User], http: httpx.AsyncClient,
                                                       stack: Stack) -> None:
    c = await u["w-kaigo"].call("POST", "intake", "/consultations", {
        "channel": "visit", "main_complaint": "相談先がわからない", "categories": ["debt"],
        "destination": {"kind": "general_desk"}}, 201)

    async def task() -> Any:
        rows = await u["c-desk"].call("GET", "referral", "/referrals", agency="general-desk",
                                      limit=200)
        return next((r for r in rows if r["consultation_id"] == c["id"]), None)
    r = await eventually(task, what="the desk's routing task")
    assert r["from_division"] == "div-kaigo"
    await u["w-kaigo"].act(r, "accept", status=403)
    await u["c-desk"].act(r, "accept")
    done = await u["c-desk"].act(r, "complete", {"outcome": "not_helped"})
    assert done["outcome"] == "not_helped"
    assert uuid.UUID(done["id"])


# -- timers on the city's working days -----------------------------------------------------------
JST = ZoneInfo("Asia/Tokyo")


def _clock_at(stack: Stack, at: datetime) -> None:
    """Move every service's clock so that it reads `at` now."""
    offset = stack.shift_clock(0)
    stack.shift_clock((at - datetime.now(UTC)).total_seconds() - offset)


async def _once_set(user: User, referral: dict[str, Any], field: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await user.call("GET", "referral", f"/referrals/{referral['id']}", status=200)
        return r if r[field] is not None else None
    found: dict[str, Any] = await eventually(probe, what=f"{field} of the referral")
    return found


async def test_timers_count_the_citys_working_days(u: dict[str, User], stack: Stack) -> None:
    before = stack.shift_clock(0)
    try:
        _clock_at(stack, datetime(2026, 12, 25, 10, tzinfo=JST))  # Friday before the closure
        _, a = await _case(u["w-kaigo"], "konkyu-hojin")
        first = await _refer(u["w-kaigo"], a, "konkyu")
        # 12/28, then the closure 12/29-1/3, then 1/4-1/7: answer by the end of 1/7
        assert datetime.fromisoformat(first["answer_due_at"]) == datetime(2027, 1, 8, tzinfo=JST)
        _clock_at(stack, datetime(2027, 1, 5, 10, tzinfo=JST))
        _, b = await _case(u["w-kaigo"], "konkyu-hojin")
        sentinel = await _refer(u["w-kaigo"], b, "konkyu")  # due at the end of 1/13

        _clock_at(stack, datetime(2027, 1, 8, 10, tzinfo=JST))
        assert (await _once_set(u["w-kaigo"], first, "overdue_at"))["status"] == "requested"
        _, c = await _case(u["w-kaigo"], "konkyu-hojin", "houkatsu-hojin")
        second = await _refer(u["w-kaigo"], c, "konkyu")
        # Coming of Age Day (Mon 1/11) is no working day: 1/12-1/15 and 1/18
        assert datetime.fromisoformat(second["answer_due_at"]) == datetime(2027, 1, 19, tzinfo=JST)
        third = await _refer(u["w-kaigo"], c, "houkatsu-1")
        await u["a-houkatsu"].act(third, "accept")
        no_outcome = await u["a-houkatsu"].act(third, "complete", {})
        assert datetime.fromisoformat(no_outcome["follow_up_due_at"]) == datetime(2027, 1, 19, tzinfo=JST)

        # Monday 1/18, late: the round that finds the sentinel overdue finds nothing else due.
        _clock_at(stack, datetime(2027, 1, 18, 23, tzinfo=JST))
        await _once_set(u["w-kaigo"], sentinel, "overdue_at")
        for r, field in ((second, "overdue_at"), (third, "follow_up_at")):
            assert (await u["w-kaigo"].call("GET", "referral", f"/referrals/{r['id']}"))[field] is None

        _clock_at(stack, datetime(2027, 1, 19, 0, 30, tzinfo=JST))
        await _once_set(u["w-kaigo"], second, "overdue_at")
        await _once_set(u["w-kaigo"], third, "follow_up_at")
        late = await u["a-houkatsu"].act(third, "complete", {"outcome": "partly"})
        assert late["outcome"] == "partly"
        await u["a-houkatsu"].act(third, "complete", {"outcome": "got_help"}, status=409)
    finally:
        stack.shift_clock(before - stack.shift_clock(0))
    assert (await _events(stack, first["id"])).count("referral_overdue") == 1  # raised once
    assert await _events(stack, third["id"]) == [
        "referral_requested", "referral_accepted", "referral_completed",
        "referral_follow_up_due", "referral_completed"]
