"""Issue 12: outreach, through the HTTP API against the real services and broker — partners
report and read back only their acknowledgement; weak signals are raised once per window;
a case goes from first contact to a hand-over when the person consents, and the consultation
appears in intake; an overdue contact reaches the worker's inbox, counted in working days."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from infra.local.stack import Stack
from kit.workdays import JST
from tests.helpers import Client, Connect, eventually, person, read_topic, tag
from tests.test_access_holes import _meeting, _tables, _user
from tests.test_referrals import _clock_at

NOTE = "郵便受けに新聞が三日分たまっている"  # what a partner wrote: stays in outreach
SEEN = ["mail_piling_up", "no_utility_use", "neighbour_worry"]


@pytest.fixture
def desk(http: httpx.AsyncClient, stack: Stack) -> Client:
    return Client(http, stack, "c-desk", "outreach")


async def _partner(http: httpx.AsyncClient, stack: Stack, desk: Client) -> Client:
    """A commissioner of the 民生委員協議会 (a partner office), under an agreement."""
    partner = _user(http, stack, "partner-minsei", "outreach", agency="minsei")
    r = await http.put(desk.base + f"/partners/{partner.user_id}", headers=desk.headers, json={
        "office_id": "minsei", "since": "2026-04-01", "may_report": SEEN})
    assert r.status_code == 204, r.text
    return partner


def _report(address: str, **overrides: Any) -> dict[str, Any]:
    return {"address": address, "seen": ["mail_piling_up"], "note": NOTE, "urgency": "low"} | overrides


async def _outreach_events(stack: Stack, done: Any, what: str) -> list[dict[str, Any]]:
    found = await read_topic(stack, "outreach.events",
                             lambda f: done([{**r, "data": json.loads(r["value"])} for r in f]), what)
    return [{**r, "data": json.loads(r["value"])} for r in found]


async def test_a_partner_reports_and_reads_back_only_its_acknowledgement(
        http: httpx.AsyncClient, stack: Stack, desk: Client) -> None:
    unregistered = _user(http, stack, "partner-minsei", "outreach", agency="minsei")
    await unregistered.post("/concerns", _report("福生市本町1-1-1"), 422)  # no agreement yet
    partner, other = await _partner(http, stack, desk), await _partner(http, stack, desk)
    address = f"福生市熊川{uuid.uuid4().int % 900 + 100}番地"
    ack = await partner.post("/concerns", _report(address))
    assert ack["status"] == "received" and set(ack) == {"id", "status", "received_at"}
    await partner.post("/concerns", _report(address, seen=["shouting"]), 422)  # outside the agreement
    await _user(http, stack, "w-kaigo", "outreach").post("/concerns", _report(address), 403)
    # the partner reads its acknowledgement and nothing else; another partner not even that
    assert (await partner.get(f"/concerns/{ack['id']}/status"))["status"] == "received"
    await partner.get(f"/concerns/{ack['id']}", 403)
    await other.get(f"/concerns/{ack['id']}/status", 403)
    await partner.get("/cases", 403, office="minsei")
    # the coordinators read it; the partner then hears that someone is looking at it
    seen = await desk.get(f"/concerns/{ack['id']}")
    assert seen["note"] == NOTE and seen["address"] == address
    assert (await partner.get(f"/concerns/{ack['id']}/status"))["status"] == "being_looked_at"
    case = await desk.post("/cases", {"report_id": ack["id"]})
    assert case["origin"] == "report" and case["address"] == address
    await partner.get(f"/cases/{case['id']}", 403)
    events = await _outreach_events(stack, lambda f: any(
        e["data"].get("report_id") == ack["id"] for e in f), "the report's event")
    text = json.dumps([e["data"] for e in events], ensure_ascii=False)
    assert NOTE not in text and "熊川" not in text


async def test_an_agreement_registered_is_one_event_for_statistics_and_a_repeat_none(
        http: httpx.AsyncClient, stack: Stack, desk: Client, db: Connect) -> None:
    partner = _user(http, stack, "partner-minsei", "outreach", agency="minsei")
    body = {"office_id": "minsei", "since": "2026-04-01", "may_report": SEEN}
    for agreement in (body, body, body | {"until": "2027-03-31"}):  # registered, repeated, ended
        r = await http.put(desk.base + f"/partners/{partner.user_id}", headers=desk.headers,
                           json=agreement)
        assert r.status_code == 204, r.text
    conn = await db("outreach")
    try:
        agreement_id = str(await conn.fetchval("SELECT id FROM partner_agreements WHERE user_id = $1",
                                               partner.user_id))
    finally:
        await conn.close()

    def mine(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in found if e["data"].get("agreement_id") == agreement_id]
    # The outbox relays in order: once the change is on the topic, a repeat's event would be too.
    events = mine(await _outreach_events(stack, lambda f: any(
        e["data"].get("until") for e in mine(f)), "the agreement's events"))
    assert [(e["data"]["partner_office"], e["data"]["since"], e["data"]["until"]) for e in events] == [
        ("minsei", "2026-04-01", None), ("minsei", "2026-04-01", "2027-03-31")]
    assert all(e["ce_type"] == "jp.tsunagu.outreach.partner_agreed.v1" for e in events)
    assert partner.user_id not in json.dumps(events, default=str)  # the office, not the account


async def test_three_reports_about_one_address_raise_one_alert(
        http: httpx.AsyncClient, stack: Stack, desk: Client, db: Connect) -> None:
    first, second = await _partner(http, stack, desk), await _partner(http, stack, desk)
    block = uuid.uuid4().int % 90 + 10
    one = await first.post("/concerns", _report(f"東京都福生市加美平三丁目{block}番地5号"))
    # two at once, written two more ways: counted one after the other, so one alert, not 0 or 2
    two, three = await asyncio.gather(
        second.post("/concerns", _report(f"福生市加美平３－{block}－５", seen=["no_utility_use"])),
        first.post("/concerns", _report(f"〒197-0003 東京都 福生市 加美平3丁目{block}番5号")))
    ours = {one["id"], two["id"], three["id"]}
    conn = await db("outreach")
    try:
        alerts = await conn.fetch("SELECT id, report_ids FROM weak_signal_alerts "
                                  "WHERE report_ids && $1::uuid[]", list(map(uuid.UUID, ours)))
        assert len(alerts) == 1 and {str(r) for r in alerts[0]["report_ids"]} == ours
        four = await second.post("/concerns", _report(f"福生市加美平3-{block}-5"))  # same window
        assert await conn.fetchval("SELECT count(*) FROM weak_signal_alerts WHERE $1 = ANY(report_ids) "
                                   "OR report_ids && $2::uuid[]", uuid.UUID(four["id"]),
                                   list(map(uuid.UUID, ours))) == 1
    finally:
        await conn.close()
    alert_id = str(alerts[0]["id"])
    events = await _outreach_events(stack, lambda f: any(
        e["data"].get("alert_id") == alert_id for e in f), "the alert's event")
    raised = [e for e in events if e["data"].get("alert_id") == alert_id]
    assert len(raised) == 1 and raised[0]["data"]["report_count"] == 3
    assert "加美平" not in raised[0]["value"].decode()
    # the coordinators hear of it, by its title only
    inbox = Client(desk.http, stack, "c-desk", "notifications")

    async def told() -> list[Any]:
        return [i for i in await inbox.get("/inbox/coordinators", kind="WeakSignalAlert", limit=200)
                if i["about_id"] == alert_id]
    item = (await eventually(told, what="the alert in the coordinators' inbox"))[0]
    assert item["title"] == "見守りの気づきが重なっています" and item["body"] == ""
    assert set((await desk.get(f"/alerts/{alert_id}"))["report_ids"]) == ours
    assert (await desk.post("/cases", {"alert_id": alert_id}))["origin"] == "alert"
    assert (await first.get(f"/concerns/{one['id']}/status"))["status"] == "being_looked_at"


async def test_from_first_contact_to_a_consultation_in_intake_when_the_person_consents(
        http: httpx.AsyncClient, stack: Stack, desk: Client) -> None:
    window = _user(http, stack, "w-kaigo")
    p = await window.post("/persons", person(tag()))
    case = await desk.post("/cases", {"person_id": p["id"], "known": "近所の方によると数年外出がない"})
    assert case["stage"] == "not_contacted" and case["contact_due_at"]
    path = f"/cases/{case['id']}"
    tomorrow = date.fromordinal(datetime.now(UTC).date().toordinal() + 1).isoformat()
    moved = await desk.post(path + "/attempts", {"method": "letter", "outcome": "no_answer",
                                                 "next_attempt_on": tomorrow}, 200)
    assert moved["stage"] == "attempting_contact"
    moved = await desk.post(path + "/attempts", {"method": "visit", "outcome": "contact_made"}, 200)
    assert moved["stage"] == "contact_made" and moved["contact_due_at"] is None
    await desk.post(path + "/stage", {"action": "build_relationship"}, 200)
    await desk.post(path + "/actions", {"kind": "home_visit"}, 200)
    done = await desk.post(path + "/actions", {"kind": "accompaniment", "to_office": "houkatsu-1"}, 200)
    assert [a["kind"] for a in done["actions"]] == ["home_visit", "accompaniment"]
    planned = await desk.post(path + "/handover", {"to_office": "houkatsu-1",
                                                   "categories": ["elderly_care"]}, 200)
    assert planned["stage"] == "relationship_building"  # no consent yet
    # The person consents to sharing with the city (the outreach office) and the 包括.
    await window.post(f"/persons/{p['id']}/consents", {"agencies": ["city", "houkatsu-hojin"],
                                                       "method": "oral"})

    async def handed() -> dict[str, Any] | None:
        c: dict[str, Any] = await desk.get(path)
        return c if c["stage"] == "handed_over" else None
    consultation_id = (await eventually(handed, what="the hand-over"))["consultation_id"]
    intake = Client(http, stack, "c-desk", "intake")

    async def opened() -> dict[str, Any] | None:
        r = await http.get(intake.base + f"/consultations/{consultation_id}", headers=intake.headers)
        return r.json() if r.status_code == 200 else None
    consultation = await eventually(opened, what="the consultation in intake")
    assert consultation["channel"] == "outreach" and consultation["categories"] == ["elderly_care"]
    assert consultation["person_ids"] == [p["id"]]
    assert "近所" not in json.dumps(consultation, ensure_ascii=False)  # what outreach knew stays there
    assert consultation["destination"] == {"kind": "agency", "agency": "houkatsu-1"}
    # Its opening is on intake's record, as a window's would be: the auditors find it by person.
    trail = await Client(http, stack, "auditor-1", "intake").get("/audit", person_id=p["id"])
    [opened_row] = [r for r in trail if r["object_type"] == "consultation"
                    and r["object_id"] == consultation_id and r["action"] == "write"]
    assert opened_row["outcome"] == "permitted" and opened_row["service"] == "intake"
    assert opened_row["user_id"] == f"outreach:{case['office']}" and opened_row["agency"] == case["office"]
    assert opened_row["person_ids"] == [p["id"]] and opened_row["trace_id"]
    copy = await Client(http, stack, "a-houkatsu").get(f"/consultations/{consultation_id}/handed-over-copy")
    assert copy["to_office"] == "houkatsu-1"
    events = await _outreach_events(stack, lambda f: any(
        e["data"].get("outreach_case_id") == case["id"] and e["ce_type"].endswith("handed_over.v1")
        for e in f), "the hand-over event")
    stages = [(e["data"]["from_stage"], e["data"]["to_stage"]) for e in events
              if e["data"].get("outreach_case_id") == case["id"] and "to_stage" in e["data"]]
    assert stages == [("not_contacted", "attempting_contact"), ("attempting_contact", "contact_made"),
                      ("contact_made", "relationship_building"),
                      ("relationship_building", "consent_obtained"), ("consent_obtained", "handed_over")]
    labels = {e["ce_type"].split(".")[-2]: e["ce_sensitivity"] for e in events
              if e["data"].get("outreach_case_id") == case["id"]}
    assert labels.pop("outreach_handed_over") == "personal"  # consented: the rest is 支援会議's
    assert set(labels.values()) == {"confidential-106-6"}


async def test_a_support_meeting_starts_outreach_for_its_members_only(
        http: httpx.AsyncClient, stack: Stack) -> None:
    chair, window = _user(http, stack, "c-desk", "meetings"), _user(http, stack, "w-kaigo")
    agency, reader = f"soudan-{uuid.uuid4().hex[:6]}", f"kodomo-{uuid.uuid4().hex[:6]}"
    member = _user(http, stack, "a-soudan", "outreach", agency=agency)
    consented = _user(http, stack, "a-kodomo", "outreach", agency=reader)
    window_m = Client(http, stack, "w-kaigo", "meetings", sub=window.user_id)
    p = await window.post("/persons", person(tag()))
    await window.post(f"/persons/{p['id']}/consents", {"agencies": [reader], "method": "oral"})
    meeting = await _meeting(chair, "support_meeting", [(member, agency), (window_m, "div-kaigo")])
    await _tables(window_m, meeting, {"person_ids": [p["id"]]}, 201)
    decided = await chair.post(f"/meetings/{meeting}/decisions", {"kind": "start_outreach",
                                                                  "person_ids": [p["id"]]})
    desk = Client(http, stack, "c-desk", "outreach", sub=chair.user_id)

    async def opened() -> str | None:
        rows = await desk.get("/cases", office="coordinators", limit=200)
        return next((r["id"] for r in rows if r["origin_id"] == decided["decision_id"]), None)
    case_id = await eventually(opened, what="the case the decision opened")
    assert (await member.get(f"/cases/{case_id}"))["origin"] == "meeting"
    await consented.get(f"/cases/{case_id}", 403)  # consent opens no 支援会議 material
    await _user(http, stack, "w-shogai", "outreach").get(f"/cases/{case_id}", 403)

    # The chair corrects the decision: it was about someone else. The first case ends (its log
    # stays readable), the person the correction names gets one, opened by the correction.
    q = await window.post("/persons", person(tag()))
    await _tables(window_m, meeting, {"person_ids": [q["id"]]}, 201)
    correction = await chair.post(f"/meetings/{meeting}/decisions", {
        "kind": "start_outreach", "person_ids": [q["id"]], "supersedes": decided["decision_id"],
        "reason": "対象者の誤り"})

    async def ended() -> dict[str, Any] | None:
        c: dict[str, Any] = await desk.get(f"/cases/{case_id}")
        return c if c["stage"] == "ended" else None
    assert (await eventually(ended, what="the superseded decision's case ended"))["end_reason"] \
        == "decision_corrected"

    async def reopened() -> str | None:
        rows = await desk.get("/cases", office="coordinators", limit=200)
        return next((r["id"] for r in rows if r["origin_id"] == correction["decision_id"]), None)
    other = await eventually(reopened, what="the case the correction opened")
    assert (await member.get(f"/cases/{other}"))["person_id"] == q["id"]


async def test_an_overdue_contact_reaches_the_workers_inbox_once_in_working_days(
        http: httpx.AsyncClient, stack: Stack, desk: Client) -> None:
    before = stack.shift_clock(0)
    try:
        _clock_at(stack, datetime(2027, 1, 8, 10, tzinfo=JST))  # a Friday
        case = await desk.post("/cases", {"person_name": "見守り 対象", "address": "福生市福生1-2-3",
                                          "worker": desk.user_id})
        path = f"/cases/{case['id']}"
        planned = await desk.post(path + "/attempts", {"method": "phone", "outcome": "no_answer",
                                                       "next_attempt_on": "2027-01-08"}, 200)
        # one working day's grace after Friday: Monday 1/11 is 成人の日, so the end of Tuesday
        assert datetime.fromisoformat(planned["contact_due_at"]) == datetime(2027, 1, 13, tzinfo=JST)
        _clock_at(stack, datetime(2027, 1, 13, 0, 30, tzinfo=JST))

        async def overdue() -> dict[str, Any] | None:
            c: dict[str, Any] = await desk.get(path)
            return c if c["overdue_at"] else None
        await eventually(overdue, what="the overdue mark")
    finally:
        stack.shift_clock(before - stack.shift_clock(0))
    inbox = Client(http, stack, "c-desk", "notifications")

    async def reminded() -> list[Any]:
        return [i for i in await inbox.get("/me/inbox", kind="ContactOverdue", limit=200)
                if i["about_id"] == case["id"]]
    item = (await eventually(reminded, what="the reminder in the worker's inbox"))[0]
    # a named person before consent: the inbox says only that there is an item
    assert item["kind"] == "ContactOverdue" and item["title"] == "確認が必要な案件があります"
    assert item["link"] == path and "見守り" not in json.dumps(item, ensure_ascii=False)
    events = await _outreach_events(stack, lambda f: any(
        e["data"].get("outreach_case_id") == case["id"] and "due_at" in e["data"] for e in f),
        "the overdue event")
    assert sum(1 for e in events if e["data"].get("outreach_case_id") == case["id"]
               and "due_at" in e["data"]) == 1
