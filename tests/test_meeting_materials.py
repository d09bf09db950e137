"""Issue 10: an agenda item's materials and minutes, through the HTTP API against the real
services. A material is a pointer to another service's record with the presenting member's title
and summary; each member sees an item's materials only as the rule of the body that tabled it
allows: a 支援会議's to its pledged members, a 重層的支援会議's to members whose agency the person's
consent covers; in a joint session each item keeps its own body's rule. Members hear of the
decisions that concern them, of a 支援会議 only that there is an item."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx

from infra.local.stack import Stack
from tests.helpers import Client, eventually
from tests.meetings_cast import cast, joint_session
from tests.test_access_holes import _meeting, _tables, _trail


def _pointer(record_id: str, title: str = "アセスメント", **more: Any) -> dict[str, Any]:
    return {"service": "plans", "record_type": "assessment", "record_id": record_id, "title": title,
            **more}


async def _item(member: Client, meeting: str) -> str:
    [item] = (await member.get(f"/meetings/{meeting}"))["agenda"]
    item_id: str = item["id"]
    return item_id


async def test_a_support_meeting_items_materials_are_its_pledged_members_for_the_meeting(
        http: httpx.AsyncClient, stack: Stack) -> None:
    c = cast(http, stack)
    member, agency = c.member("a-soudan", "soudan")
    reader, reader_agency = c.member("a-kodomo", "kodomo")
    p = await c.person()  # no consent at all
    consultation = await c.window.post("/consultations", {"channel": "visit", "main_complaint": "家賃の滞納",
                                                          "person_ids": [p["id"]], "present_ids": [p["id"]],
                                                          "destination": {"kind": "handled_here"}})
    meeting = await _meeting(c.chair, "support_meeting", [(member, agency), (c.window_m, "div-kaigo"),
                                                          (c.chair, "coordinators")])
    await _tables(c.window_m, meeting, {"person_ids": [p["id"]]}, 201)
    item = await _item(member, meeting)
    # the presenting member points at the consultation; the chair at an assessment
    shown = await c.window_m.post(f"/agenda-items/{item}/materials", {
        "service": "intake", "record_type": "consultation", "record_id": consultation["id"],
        "title": "相談記録", "summary": "家賃滞納の経過"})
    assert shown["presented_by"] == c.window.user_id
    await c.chair.post(f"/agenda-items/{item}/materials", _pointer(str(uuid.uuid4())))
    # a member who did not present the item adds nothing to it; a pointer names a real kind
    await member.post(f"/agenda-items/{item}/materials", _pointer(str(uuid.uuid4())), 403)
    await c.window_m.post(f"/agenda-items/{item}/materials", _pointer(consultation["id"], record_type="plan",
                                                                      service="intake"), 422)
    # the minutes are the chair's
    r = await http.put(c.chair.base + f"/agenda-items/{item}/minutes", headers=c.window_m.headers,
                       json={"minutes": "提示者の記録"})
    assert r.status_code == 403, r.text
    r = await http.put(c.chair.base + f"/agenda-items/{item}/minutes", headers=c.chair.headers,
                       json={"minutes": "訪問で様子を確認する"})
    assert r.status_code == 200, r.text

    seen = await member.get(f"/agenda-items/{item}/materials")
    assert [(m["service"], m["record_type"], m["title"]) for m in seen["materials"]] == [
        ("intake", "consultation", "相談記録"), ("plans", "assessment", "アセスメント")]
    assert seen["materials"][0]["summary"] == "家賃滞納の経過"
    assert seen["minutes"]["minutes"] == "訪問で様子を確認する"
    assert "main_complaint" not in str(seen) and "家賃の滞納" not in str(seen)  # a pointer only
    assert await member.get(f"/meetings/{meeting}/materials") == [seen]
    # consent given later opens nothing of a 支援会議 item to a consent-based reader
    await c.window.post(f"/persons/{p['id']}/consents", {"agencies": [reader_agency], "method": "oral"})
    await reader.get(f"/agenda-items/{item}/materials", 403)
    await reader.get(f"/meetings/{meeting}/materials", 403)
    # nor does break-glass
    glass = Client(http, stack, "a-kodomo", "meetings", sub=reader.user_id, agency=reader_agency)
    glass.headers["X-Break-Glass-Reason"] = quote("緊急: 本人の生命に危険がある")
    await glass.get(f"/agenda-items/{item}/materials", 403)
    # every read and refusal is on record
    trail = [t for user in (member, reader, c.window) for t in
             await _trail(http, stack, "meetings", user_id=user.user_id) if t["object_id"] == item]
    assert {(t["user_id"], t["action"], t["outcome"]) for t in trail} >= {
        (member.user_id, "read", "permitted"), (reader.user_id, "read", "denied"),
        (member.user_id, "write", "denied"), (c.window.user_id, "write", "permitted")}


async def test_a_multilayer_items_materials_are_for_members_whom_consent_covers(
        http: httpx.AsyncClient, stack: Stack) -> None:
    c = cast(http, stack)
    member, covered = c.member("a-kodomo", "kodomo")
    later, later_agency = c.member("a-konkyu", "konkyu")
    p = await c.person()
    consent = await c.window.post(f"/persons/{p['id']}/consents", {
        "agencies": ["div-kaigo", covered, later_agency], "method": "oral"})
    meeting = await _meeting(c.chair, "multilayer_meeting", [(c.window_m, "div-kaigo"), (member, covered)])
    await _tables(c.window_m, meeting, {"person_ids": [p["id"]]}, 201)
    item = await _item(member, meeting)
    await c.window_m.post(f"/agenda-items/{item}/materials", _pointer(str(uuid.uuid4()),
                                                                      summary="評価の要点"))
    # a member added later, while the consent covered its agency, reads the item's materials
    await c.chair.post(f"/meetings/{meeting}/members", {"user_id": later.user_id, "agency": later_agency})
    assert [m["summary"] for m in (await later.get(f"/agenda-items/{item}/materials"))["materials"]] \
        == ["評価の要点"]
    # the person withdraws the consent for that agency only: it sees nothing of the item any more
    await c.window.post(f"/consents/{consent['id']}/withdraw", {"only_for": [later_agency]}, 200)

    async def hidden() -> bool:
        r = await http.get(later.base + f"/agenda-items/{item}/materials", headers=later.headers)
        return r.status_code == 403
    await eventually(hidden, what="the item's materials refused to the uncovered member")
    assert await later.get(f"/meetings/{meeting}/materials") == []
    assert (await later.get(f"/meetings/{meeting}"))["agenda"] == []
    # the members it still covers see them; and the uncovered one adds nothing to the item
    assert len((await member.get(f"/meetings/{meeting}/materials"))[0]["materials"]) == 1
    await later.post(f"/agenda-items/{item}/materials", _pointer(str(uuid.uuid4())), 403)
    # a staff member the consent covers reads nothing of a meeting they are no member of
    outsider = Client(http, stack, "a-kodomo", "meetings", sub=f"x-{uuid.uuid4().hex[:6]}", agency=covered)
    await outsider.get(f"/agenda-items/{item}/materials", 403)


async def test_a_joint_session_keeps_each_items_rule_for_its_materials(http: httpx.AsyncClient,
                                                                       stack: Stack) -> None:
    c = cast(http, stack)
    j = await joint_session(c)
    pledged, consented = j.pledged, j.consented
    secret_item, shared_item = await _item(c.window_m, j.support), await _item(c.window_m, j.part)
    for item, title in ((secret_item, "同意なしの資料"), (shared_item, "同意ありの資料")):
        await c.window_m.post(f"/agenda-items/{item}/materials", _pointer(str(uuid.uuid4()), title))

    async def titles(reader: Client, item: str) -> list[str]:
        return [m["title"] for m in (await reader.get(f"/agenda-items/{item}/materials"))["materials"]]
    assert await titles(pledged, secret_item) == ["同意なしの資料"]
    assert await titles(consented, shared_item) == ["同意ありの資料"]
    await pledged.get(f"/agenda-items/{shared_item}/materials", 403)
    await consented.get(f"/agenda-items/{secret_item}/materials", 403)
    # a member of both parts sees each item, under each rule
    assert [await titles(c.window_m, i) for i in (secret_item, shared_item)] == [["同意なしの資料"],
                                                                                 ["同意ありの資料"]]
    # and no part's member writes to the other part's item
    await consented.post(f"/agenda-items/{secret_item}/materials", _pointer(str(uuid.uuid4())), 403)


async def test_members_hear_of_the_decisions_that_concern_them(http: httpx.AsyncClient,
                                                                stack: Stack) -> None:
    c = cast(http, stack)
    member, covered = c.member("a-kodomo", "kodomo")
    p, q = await c.person("div-kaigo", covered), await c.person()
    support = await _meeting(c.chair, "support_meeting", [(member, covered), (c.window_m, "div-kaigo")])
    multilayer = await _meeting(c.chair, "multilayer_meeting", [(c.window_m, "div-kaigo"), (member, covered)])
    await _tables(c.window_m, support, {"person_ids": [q["id"]]}, 201)
    await _tables(c.window_m, multilayer, {"person_ids": [p["id"]]}, 201)
    secret = await c.chair.post(f"/meetings/{support}/decisions", {
        "kind": "assign_lead", "person_ids": [q["id"]], "lead_agency": covered,
        "lead_worker": member.user_id})
    open_ = await c.chair.post(f"/meetings/{multilayer}/decisions", {
        "kind": "approve_assessment", "person_ids": [p["id"]], "assessment_id": str(uuid.uuid4())})
    inbox = Client(http, stack, "a-kodomo", "notifications", sub=member.user_id, agency=covered)

    async def decided() -> dict[str, Any] | None:
        items = await inbox.get("/me/inbox", kind="MeetingDecided")
        mine = {i["about_id"]: i for i in items if support in i["link"] or multilayer in i["link"]}
        return mine if len(mine) == 2 else None
    mine = await eventually(decided, what="both decisions in the member's inbox")
    # of the 支援会議: only that there is an item, linked to the meeting, nothing of the decision
    item = mine[support]
    assert (item["title"], item["link"]) == ("支援会議に案件があります", f"/meetings/{support}")
    assert secret["decision_id"] not in str(item) and q["id"] not in str(item)
    # of the 重層的支援会議: the decision, and its link opens it for the member
    told = mine[open_["decision_id"]]
    assert told["title"] == "会議で決定がありました"
    opened = await Client(http, stack, "a-kodomo", "meetings", sub=member.user_id,
                          agency=covered).get(told["link"])
    assert opened["kind"] == "approve_assessment"
    assert [d["decision_id"] for d in await member.get(f"/meetings/{multilayer}/decisions")] == \
        [open_["decision_id"]]
