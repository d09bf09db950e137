"""Issue 11: the assessment, the multi-agency plan, accompaniment and closure decided in the
meeting, through the HTTP API against the real services, as the coordinator, the team and an
agency outside the consent would try them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from infra.local.stack import Stack
from tests.helpers import Client, Connect, eventually, person, read_topic, tag
from tests.test_access_holes import _meeting, _tables, _user

GOAL = "また近所の人と話せるようになりたい"  # the person's words: never in an event
NOTE = "本人と面談。買い物に同行した。"


@dataclass
class Case:
    """One person whose window holds her case, a consent covering the window and two team
    agencies, a 重層的支援会議 that tabled her, and an agency outside the consent."""

    window: Client  # on plans; holds the person (she came to its window)
    intake: Client  # the same user on intake
    chair: Client  # on meetings
    team: dict[str, Client]  # office -> a worker there, on plans
    outsider: Client
    person_id: str
    consent_id: str
    meeting_id: str

    async def decide(self, kind: str, **facts: Any) -> dict[str, Any]:
        decided: dict[str, Any] = await self.chair.post(
            f"/meetings/{self.meeting_id}/decisions",
            {"kind": kind, "person_ids": [self.person_id], **facts})
        return decided

    def content(self, **overrides: Any) -> dict[str, Any]:
        a, b = list(self.team)
        return {"goals": [{"term": "short", "words": GOAL}, {"term": "long", "words": "働きたい"}],
                "roles": [{"agency": "div-kaigo", "role": "介護保険の申請", "actions": "申請支援"},
                          {"agency": a, "role": "家族支援", "actions": "訪問"},
                          {"agency": b, "role": "家計改善", "actions": "家計相談"}],
                "lead_agency": "div-kaigo", "lead_worker": self.window.user_id,
                "review_dates": [(date.today() + timedelta(days=60)).isoformat()]} | overrides


async def _case(http: httpx.AsyncClient, stack: Stack) -> Case:
    window = _user(http, stack, "w-kaigo")
    a, b, c = (f"{k}-{uuid.uuid4().hex[:6]}" for k in ("kodomo", "konkyu", "soudan"))
    team = {a: _user(http, stack, "a-kodomo", "plans", agency=a),
            b: _user(http, stack, "a-konkyu", "plans", agency=b)}
    outsider = _user(http, stack, "a-soudan", "plans", agency=c)
    p = await window.post("/persons", person(tag()))
    await window.post("/consultations", {"channel": "visit", "main_complaint": "生活に困っている",
                                         "person_ids": [p["id"]], "present_ids": [p["id"]],
                                         "destination": {"kind": "handled_here"}})
    consent = await window.post(f"/persons/{p['id']}/consents",
                                {"agencies": ["div-kaigo", a, b], "method": "oral"})
    chair = _user(http, stack, "c-desk", "meetings")
    window_m = Client(http, stack, "w-kaigo", "meetings", sub=window.user_id)
    meeting = await _meeting(chair, "multilayer_meeting", [(window_m, "div-kaigo")])
    await _tables(window_m, meeting, {"person_ids": [p["id"]]}, 201)
    return Case(Client(http, stack, "w-kaigo", "plans", sub=window.user_id), window, chair, team,
                outsider, p["id"], consent["id"], meeting)


@pytest.fixture(scope="module")
async def case(stack: Stack) -> AsyncIterator[Case]:
    async with httpx.AsyncClient(timeout=10) as http:  # the case's clients use it: open throughout
        yield await _case(http, stack)


async def _until(client: Client, path: str, status: int, body: Any = None) -> Any:
    """POST until the answer has `status` (plans sees the meeting's decision a moment later)."""
    async def probe() -> Any:
        r = await client.http.post(client.base + path, json=body or {}, headers=client.headers)
        return r.json() if r.status_code == status else None
    return await eventually(probe, what=f"{path} answered {status}")


async def _plan_events(stack: Stack, plan_id: str, count: int) -> list[dict[str, Any]]:
    def mine(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "data": json.loads(r["value"])} for r in found if r["key"] == plan_id]
    return mine(await read_topic(stack, "plans.events", lambda f: len(mine(f)) >= count,
                                 what=f"{count} events of the plan"))


async def test_a_plan_moves_only_by_the_meetings_decisions(case: Case, stack: Stack) -> None:
    w = case.window
    # the assessment: completed by the holder, approved only by the meeting
    sheet = {"household": [{"person_id": case.person_id, "relation": "self"}],
             "areas": {"income_debt": {"situation": "滞納", "risks": "退去", "strengths": "就労意欲"}},
             "wishes": "家で暮らし続けたい", "inquiries": [{"agency": "div-kaigo", "asked_on": "2026-11-20"}]}
    a = await w.post("/assessments", {"person_ids": [case.person_id], "sheet": sheet | {"wishes": ""}})
    refused = await w.post(f"/assessments/{a['id']}/complete", {}, 409)
    assert refused["missing"] == ["wishes"]
    await w.post(f"/assessments/{a['id']}/complete", {"sheet": sheet}, 200)
    missing = await w.post(f"/assessments/{a['id']}/approve", {}, 409)
    assert missing["type"] == "urn:tsunagu:problem:decision-missing"
    assert missing["missing"] == {"kind": "approve_assessment", "assessment_id": a["id"]}
    await case.decide("approve_assessment", assessment_id=a["id"])
    assert (await _until(w, f"/assessments/{a['id']}/approve", 200))["status"] == "approved"

    await w.post("/plans", {"person_ids": [case.person_id],  # the lead works at the lead office
                            "content": case.content(lead_agency=next(iter(case.team)))}, 422)
    plan = await w.post("/plans", {"person_ids": [case.person_id],
                                   "content": case.content(assessment_id=a["id"])})
    pid = plan["id"]
    assert plan["status"] == "draft" and plan["version_in_force"] is None
    # neither approved nor closed without the meeting's decision, and the error says what is missing
    missing = await w.post(f"/plans/{pid}/approve", {}, 409)
    assert missing["missing"] == {"kind": "approve_plan", "plan_id": pid, "plan_version": 1}
    assert f"plan_id={pid}" in missing["detail"] and "plan_version=1" in missing["detail"]
    assert (await w.post(f"/plans/{pid}/close", {"why": "x"}, 409))["missing"]["kind"] == "close"
    await case.decide("approve_plan", plan_id=str(uuid.uuid4()), plan_version=1)  # another plan's
    await w.post(f"/plans/{pid}/approve", {}, 409)
    await case.decide("approve_plan", plan_id=pid, plan_version=1)
    assert (await _until(w, f"/plans/{pid}/approve", 200))["status"] == "approved"

    team_worker = next(iter(case.team.values()))
    await team_worker.post(f"/plans/{pid}/notes", {"text": NOTE})
    assert (await w.get(f"/plans/{pid}"))["status"] == "in_progress"
    # a review: version 2 goes back to the meeting; version 1 stays in force meanwhile
    reviewed = await w.post(f"/plans/{pid}/revisions", {"content": case.content(
        goals=[{"term": "short", "words": "週に一度は外に出たい"}])})
    assert (reviewed["status"], reviewed["latest_version"], reviewed["version_in_force"]) == \
        ("reviewed", 2, 1)
    assert (await w.post(f"/plans/{pid}/approve", {}, 409))["missing"]["plan_version"] == 2
    await case.decide("approve_plan", plan_id=pid, plan_version=2)
    again = await _until(w, f"/plans/{pid}/approve", 200)
    assert (again["status"], again["version_in_force"]) == ("approved", 2)
    assert (await w.get(f"/plans/{pid}/versions/1"))["content"]["goals"][0]["words"] == GOAL

    close = await case.decide("close", plan_id=pid, evaluation="partly_met")
    closed = await _until(w, f"/plans/{pid}/close", 200, {"why": "外出は増えたが就労はまだ"})
    assert (closed["status"], closed["evaluation"]) == ("closed", "partly_met")
    assert closed["evaluation_why"] == "外出は増えたが就労はまだ"
    assert [t["seq"] for t in closed["timers"] if t["kind"] == "connection"] == [1, 2, 3]
    await team_worker.post(f"/plans/{pid}/notes", {"text": NOTE}, 409)
    # a correction of the closure: the superseded decision no longer holds, the new one acts
    await case.chair.post(f"/meetings/{case.meeting_id}/decisions", {
        "kind": "close", "person_ids": [case.person_id], "plan_id": pid, "evaluation": "met",
        "supersedes": close["decision_id"], "reason": "評価の誤り"})

    async def corrected() -> Any:
        shown = await w.get(f"/plans/{pid}")
        return shown if shown["evaluation"] == "met" else None
    assert (await eventually(corrected, what="the corrected evaluation"))["status"] == "closed"

    events = await _plan_events(stack, pid, 7)
    assert [e["ce_type"].split(".")[-2] for e in events] == [
        "plan_drafted", "plan_approved", "progress_recorded", "plan_reviewed", "plan_approved",
        "plan_closed", "plan_closed"]
    assert [e["data"]["evaluation"] for e in events[-2:]] == ["partly_met", "met"]
    text = json.dumps([e["data"] for e in events], ensure_ascii=False)
    assert GOAL not in text and NOTE not in text and "就労はまだ" not in text


async def test_an_agency_outside_the_consent_loses_the_plan_within_2_seconds(
        case: Case, stack: Stack, http: httpx.AsyncClient) -> None:
    w = case.window
    plan = await w.post("/plans", {"person_ids": [case.person_id], "content": case.content()})
    pid = plan["id"]
    await case.decide("approve_plan", plan_id=pid, plan_version=1)
    await _until(w, f"/plans/{pid}/approve", 200)
    (_, keeps), (b, loses) = case.team.items()
    for member in (keeps, loses):
        await member.post(f"/plans/{pid}/notes", {"text": NOTE})
        assert len(await member.get(f"/plans/{pid}/notes")) >= 1
    # outside the consent: neither reads nor writes, though the plan names it nowhere
    await case.outsider.get(f"/plans/{pid}", 403)
    await case.outsider.get(f"/plans/{pid}/notes", 403)
    await case.outsider.post(f"/plans/{pid}/notes", {"text": NOTE}, 403)

    await case.intake.post(f"/consents/{case.consent_id}/withdraw", {"only_for": [b]}, 200)
    started = time.monotonic()

    async def cut_off() -> bool:
        read = await http.get(loses.base + f"/plans/{pid}/notes", headers=loses.headers)
        write = await http.post(loses.base + f"/plans/{pid}/notes", json={"text": NOTE},
                                headers=loses.headers)
        return read.status_code == write.status_code == 403
    await eventually(cut_off, timeout=2.0, what="the withdrawn agency cut off")
    assert time.monotonic() - started < 2.0
    await loses.get(f"/plans/{pid}", 403)
    assert len(await keeps.get(f"/plans/{pid}/notes")) >= 2  # the others keep it
    await keeps.post(f"/plans/{pid}/notes", {"text": NOTE})
    # and the lead is asked to review the plan, in the lead worker's inbox
    inbox = Client(http, stack, "w-kaigo", "notifications", sub=w.user_id)

    item = await _inbox_item(inbox, "/me/inbox", "PlanReviewDue", pid)
    assert "consent_changed" in item["body"]


async def test_the_ledger_answers_who_led_on_a_date(case: Case, stack: Stack, http: httpx.AsyncClient,
                                                    db: Connect) -> None:
    w = case.window
    before = datetime.now(UTC)
    (a, worker_a), (b, worker_b) = case.team.items()
    first = await case.decide("assign_lead", lead_agency=a, lead_worker=worker_a.user_id)
    second = await case.decide("assign_lead", lead_agency=b, lead_worker=worker_b.user_id)
    t1, t2 = (datetime.fromisoformat(d["decided_at"]) for d in (first, second))
    between = t1 + (t2 - t1) / 2

    async def lead(at: datetime) -> Any:
        return (await w.get(f"/persons/{case.person_id}/lead", at=at.isoformat()))["lead"]

    async def both() -> Any:
        return (await lead(t2 + timedelta(seconds=1)) or {}).get("decision_id") == second["decision_id"]
    await eventually(both, what="both decisions in the ledger")
    assert (await lead(between))["lead_agency"] == a
    assert (await lead(t2 + timedelta(seconds=1)))["lead_worker"] == worker_b.user_id
    earlier = await lead(before - timedelta(days=365))
    assert earlier is None
    # a correction rewrites what was decided then: the corrected lead from the same instant
    await case.chair.post(f"/meetings/{case.meeting_id}/decisions", {
        "kind": "assign_lead", "person_ids": [case.person_id], "lead_agency": "div-kaigo",
        "lead_worker": w.user_id, "supersedes": second["decision_id"], "reason": "主担当の誤り"})

    async def corrected() -> Any:
        found = await lead(t2 + timedelta(seconds=1))
        return found if found["lead_agency"] == "div-kaigo" else None
    found = await eventually(corrected, what="the corrected lead")
    assert datetime.fromisoformat(found["from"]) == t2
    assert (await lead(between))["lead_agency"] == a
    # holders and consented agencies read the ledger; the outsider does not
    await case.outsider.get(f"/persons/{case.person_id}/lead", 403)

    # a 支援会議's decision (confidential-106-6) never reaches plans' consent-based views
    window_m = Client(http, stack, "w-kaigo", "meetings", sub=w.user_id)
    support = await _meeting(case.chair, "support_meeting", [(window_m, "div-kaigo")])
    await _tables(window_m, support, {"person_ids": [case.person_id]}, 201)
    hidden = (await case.chair.post(f"/meetings/{support}/decisions", {  # its lead: a member
        "kind": "assign_lead", "person_ids": [case.person_id], "lead_agency": "div-kaigo",
        "lead_worker": w.user_id}))["decision_id"]

    def of_hidden(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in found if json.loads(r["value"]).get("decision_id") == hidden]
    [event] = of_hidden(await read_topic(stack, "meetings.events", lambda f: bool(of_hidden(f))))
    conn = await db("plans")
    try:
        await eventually(lambda: conn.fetchval("SELECT 1 FROM inbox WHERE message_id = $1",
                                               uuid.UUID(event["ce_id"])), what="plans took it")
        assert await conn.fetchval("SELECT count(*) FROM decisions_view WHERE decision_id = $1",
                                   uuid.UUID(hidden)) == 0
    finally:
        await conn.close()
    assert (await lead(datetime.now(UTC) + timedelta(seconds=1)))["lead_worker"] == w.user_id


async def _inbox_item(inbox: Client, path: str, kind: str, about: str) -> dict[str, Any]:
    """This reminder in the inbox (an office's is shared by the session: its kind, a full page)."""
    async def probe() -> Any:
        return [i for i in await inbox.get(path, kind=kind, limit=200) if i["about_id"] == about]
    found: list[dict[str, Any]] = await eventually(probe, what=f"{kind} in {path}")
    return found[0]


async def test_review_connection_and_lead_timers_on_the_citys_working_days(
        case: Case, stack: Stack, http: httpx.AsyncClient) -> None:
    w = case.window
    soon = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    plan = await w.post("/plans", {"person_ids": [case.person_id],
                                   "content": case.content(review_dates=[soon])})
    pid = plan["id"]
    await case.decide("approve_plan", plan_id=pid, plan_version=1)
    approved = await _until(w, f"/plans/{pid}/approve", 200)
    [review] = [t for t in approved["timers"] if t["kind"] == "review"]
    # a second person the same meeting acts on, whom nobody is assigned to lead
    q = await case.intake.post("/persons", person(tag()))
    await case.intake.post("/consultations", {"channel": "visit", "main_complaint": "相談",
                                              "person_ids": [q["id"]], "present_ids": [q["id"]],
                                              "destination": {"kind": "handled_here"}})
    await case.intake.post(f"/persons/{q['id']}/consents", {"agencies": ["div-kaigo"], "method": "oral"})
    window_m = Client(http, stack, "w-kaigo", "meetings", sub=w.user_id)
    await _tables(window_m, case.meeting_id, {"person_ids": [q["id"]]}, 201)
    await case.chair.post(f"/meetings/{case.meeting_id}/decisions",
                          {"kind": "start_outreach", "person_ids": [q["id"]]})
    lead_inbox = Client(http, stack, "w-kaigo", "notifications", sub=w.user_id)
    coordinators = Client(http, stack, "c-desk", "notifications")
    shifted = stack.shift_clock(0)
    try:
        stack.shift_clock(10 * 86400)
        item = await _inbox_item(lead_inbox, "/me/inbox", "PlanReviewDue", pid)
        assert "review_date" in item["body"] and item["link"] == f"/plans/{pid}"
        await _inbox_item(coordinators, "/inbox/coordinators", "CaseWithoutLead", q["id"])
        shown = await w.get(f"/plans/{pid}")
        assert [t["raised_at"] is not None for t in shown["timers"]] == [True]
        assert shown["timers"][0]["due_at"] == review["due_at"]

        await case.decide("close", plan_id=pid, evaluation="not_met")
        closed = await _until(w, f"/plans/{pid}/close", 200, {"why": "本人が支援を望まなくなった"})
        first = min(t["due_at"] for t in closed["timers"] if t["kind"] == "connection")
        stack.shift_clock(45 * 86400)  # past the first check (20 working days), not the second
        item = await _inbox_item(lead_inbox, "/me/inbox", "ConnectionCheckDue", pid)
        assert "1回目" in item["body"]
        checks = [t for t in (await w.get(f"/plans/{pid}"))["timers"] if t["kind"] == "connection"]
        assert [t["raised_at"] is not None for t in checks] == [True, False, False]
        assert checks[0]["due_at"] == first
    finally:
        stack.shift_clock(shifted - stack.shift_clock(0))
    events = await _plan_events(stack, pid, 5)
    assert [e["ce_type"].split(".")[-2] for e in events] == [
        "plan_drafted", "plan_approved", "plan_review_due", "plan_closed", "connection_check_due"]
