"""Issue 10: what the 支援会議 and the 重層的支援会議 decide, through the HTTP API against the real
services, read back as members would and from meetings.events as the operator would."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from infra.local.stack import Stack
from tests.helpers import Client, eventually, read_topic
from tests.meetings_cast import cast, joint_session
from tests.test_access_holes import _meeting, _tables

KINDS: dict[str, dict[str, Any]] = {
    "assign_lead": {"lead_agency": "div-kaigo", "lead_worker": "w-kaigo"},
    "approve_assessment": {"assessment_id": str(uuid.uuid4())},
    "approve_plan": {"plan_id": str(uuid.uuid4()), "plan_version": 1},
    "start_participation_support": {"need_codes": ["employment"]},
    "start_outreach": {},
    "close": {"plan_id": str(uuid.uuid4()), "evaluation": "met"},
    "resource_gap": {"need_codes": ["shelter"]},
}


async def _events(stack: Stack, meeting_id: str, count: int) -> list[dict[str, Any]]:
    """This meeting's events on meetings.events, once `count` of them are there."""
    def mine(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "data": json.loads(r["value"])} for r in found if r["key"] == meeting_id]
    return mine(await read_topic(stack, "meetings.events", lambda f: len(mine(f)) >= count,
                                 what=f"{count} events of the meeting"))


async def test_a_support_meeting_decides_on_a_person_without_consent_for_its_members_only(
        http: httpx.AsyncClient, stack: Stack) -> None:
    c = cast(http, stack)
    member, agency = c.member("a-soudan", "soudan")
    consented_reader, reader_agency = c.member("a-kodomo", "kodomo")
    p = await c.person()  # no consent at all
    # the other bodies are configured with their regime: a 地域ケア会議 binds its members too
    care = {"kind": "multilayer_meeting", "body": "community_care_meeting", "title": "地域ケア会議",
            "scheduled_for": "2026-12-24T10:00:00+09:00"}
    await c.chair.post("/meetings", care, 422)
    support_care = await c.chair.post("/meetings", care | {"kind": "support_meeting"})
    assert support_care["body_label"] == "地域ケア会議"
    meeting = await _meeting(c.chair, "support_meeting", [(member, agency), (c.window_m, "div-kaigo")])
    # nobody joins a 支援会議 without the pledge
    await c.chair.post(f"/meetings/{meeting}/members", {"user_id": consented_reader.user_id,
                                                        "agency": reader_agency}, 422)
    await _tables(c.window_m, meeting, {"person_ids": [p["id"]], "notes": "資料"}, 201)
    await c.chair.post(f"/meetings/{meeting}/held", {"attendee_ids": [member.user_id],
                                                     "minutes": "議事録"})
    # a member is no chair; and a 支援会議 does not decide what rests on consent
    await member.post(f"/meetings/{meeting}/decisions", {"kind": "start_outreach",
                                                         "person_ids": [p["id"]]}, 403)
    await c.chair.post(f"/meetings/{meeting}/decisions", {"kind": "close", "evaluation": "met",
                                                          "person_ids": [p["id"]]}, 422)
    decided = await c.chair.post(f"/meetings/{meeting}/decisions", {"kind": "start_outreach",
                                                                    "person_ids": [p["id"]]})
    seen = await member.get(f"/meetings/{meeting}")  # a pledged member sees item and decision
    assert [a["person_ids"] for a in seen["agenda"]] == [[p["id"]]]
    assert [d["decision_id"] for d in seen["decisions"]] == [decided["decision_id"]]
    assert seen["session"]["minutes"] == "議事録"
    # consent given later opens no consent-based view onto the 支援会議's material or decision
    await c.window.post(f"/persons/{p['id']}/consents", {"agencies": [reader_agency], "method": "oral"})
    await consented_reader.get(f"/meetings/{meeting}", 403)
    events = await _events(stack, meeting, 6)
    labels = {e["ce_type"].split(".")[-2]: e["ce_sensitivity"] for e in events}
    assert labels["meeting_decided"] == labels["case_tabled"] == "confidential-106-6"
    assert {"meeting_scheduled", "member_joined", "pledge_signed", "meeting_held"} <= labels.keys()
    assert "議事録" not in json.dumps([e["data"] for e in events], ensure_ascii=False)


async def test_a_multilayer_meeting_decides_each_kind_and_corrects_by_superseding(
        http: httpx.AsyncClient, stack: Stack) -> None:
    c = cast(http, stack)
    member, covered = c.member("a-kodomo", "kodomo")
    p, other = await c.person(), await c.person()
    consent = await c.window.post(f"/persons/{p['id']}/consents",
                                  {"agencies": ["div-kaigo", covered], "method": "oral"})
    meeting = await _meeting(c.chair, "multilayer_meeting", [(c.window_m, "div-kaigo"), (member, covered)])
    await _tables(c.window_m, meeting, {"person_ids": [p["id"]]}, 201)
    # only what is on the agenda is decided
    await c.chair.post(f"/meetings/{meeting}/decisions", {"kind": "start_outreach",
                                                          "person_ids": [other["id"]]}, 422)
    ids = {kind: (await c.chair.post(f"/meetings/{meeting}/decisions",
                                     {"kind": kind, "person_ids": [p["id"]], **facts}))["decision_id"]
           for kind, facts in KINDS.items()}
    correction = await c.chair.post(f"/meetings/{meeting}/decisions", {
        "kind": "assign_lead", "person_ids": [p["id"]], "lead_agency": covered,
        "lead_worker": member.user_id, "supersedes": ids["assign_lead"], "reason": "主担当の誤り"})
    # the superseded one is corrected once only
    await c.chair.post(f"/meetings/{meeting}/decisions", {
        "kind": "assign_lead", "person_ids": [p["id"]], "lead_agency": covered,
        "lead_worker": member.user_id, "supersedes": ids["assign_lead"], "reason": "再訂正"}, 422)
    shown = {d["decision_id"]: d for d in (await member.get(f"/meetings/{meeting}"))["decisions"]}
    assert shown[ids["assign_lead"]]["superseded_by"] == correction["decision_id"]
    assert shown[correction["decision_id"]]["supersedes"] == ids["assign_lead"]
    assert shown[correction["decision_id"]]["reason"] == "主担当の誤り"

    # 2 joined + tabled + 7 decisions + the correction and its DecisionCorrected
    events = await _events(stack, meeting, 13)
    decided = [e["data"] for e in events if e["ce_type"].endswith("meeting_decided.v1")]
    assert {d["kind"] for d in decided} == set(KINDS)
    assert {d["decision_id"]: d for d in decided}[ids["approve_plan"]]["plan_version"] == 1
    corrected = [e["data"] for e in events if e["ce_type"].endswith("decision_corrected.v1")]
    assert corrected == [{**corrected[0], "decision_id": ids["assign_lead"],
                          "superseded_by": correction["decision_id"]}]
    assert "主担当の誤り" not in json.dumps(decided, ensure_ascii=False)  # the reason stays here
    assert all(e["ce_sensitivity"] != "confidential-106-6" for e in events)

    # once consent no longer covers a member's agency, nothing more is decided on that item
    await c.window.post(f"/consents/{consent['id']}/withdraw", {}, 200)
    await c.window.post(f"/persons/{p['id']}/consents", {"agencies": ["div-kaigo"], "method": "oral"})

    async def refused() -> bool:
        r = await http.post(c.chair.base + f"/meetings/{meeting}/decisions", headers=c.chair.headers,
                            json={"kind": "start_outreach", "person_ids": [p["id"]]})
        return r.status_code == 403 and covered in r.json()["detail"]
    await eventually(refused, what="the decision refused without consent for every member")
    # and the member whose agency is not covered sees neither the item nor its decisions
    seen = await member.get(f"/meetings/{meeting}")
    assert seen["agenda"] == [] and seen["decisions"] == []


async def test_a_joint_session_keeps_each_bodys_rule_for_its_own_items(http: httpx.AsyncClient,
                                                                      stack: Stack) -> None:
    c = cast(http, stack)
    j = await joint_session(c)  # the 重層的支援会議 joins the 支援会議's session as a part of its own
    # a joint session holds one part per body
    await c.chair.post("/meetings", {"kind": "support_meeting", "title": "重複", "joint_with": j.part,
                                     "scheduled_for": "2026-12-24T10:00:00+09:00"}, 422)

    seen = await j.consented.get(f"/meetings/{j.part}")
    assert [a["person_ids"] for a in seen["agenda"]] == [[j.shared["id"]]]
    assert {p["body_label"] for p in seen["joint_parts"]} == {"支援会議", "重層的支援会議"}
    # the 重層的支援会議's member sees nothing of the 支援会議's item, here or at intake
    await j.consented.get(f"/meetings/{j.support}", 403)
    await Client(http, stack, "a-kodomo", sub=j.consented.user_id, agency=j.covered).get(
        f"/persons/{j.hidden['id']}", 403)
    # and the pledged member of the 支援会議 sees its item, not the consent-based part
    assert [a["person_ids"] for a in (await j.pledged.get(f"/meetings/{j.support}"))["agenda"]] == \
        [[j.hidden["id"]]]
    await j.pledged.get(f"/meetings/{j.part}", 403)
    both = [await c.window_m.get(f"/meetings/{m}") for m in (j.support, j.part)]
    assert [len(m["agenda"]) for m in both] == [1, 1]
    assert both[0]["joint_session"] == both[1]["joint_session"] == j.support
