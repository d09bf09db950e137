"""Objects that are not the attacker's, named where no path check looks (query strings, request
bodies), and what the services take on the attacker's word (a break-glass reason, a trace id).
Each test is what a staff user of another office would try, through the HTTP API against the
real services; the xfail ones are holes reported to the engineers whose files they are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from infra.local.stack import Stack
from tests.access_world import GLASS_REASON as GLASS
from tests.helpers import Client, eventually, person, tag


def _user(http: httpx.AsyncClient, stack: Stack, seeded: str) -> Client:
    """A seeded user with a user id of this test's own, where the seeded one works."""
    return Client(http, stack, seeded, sub=f"{seeded}-{uuid.uuid4().hex[:8]}")


async def test_a_person_number_alone_names_nobody_the_user_may_not_read(
        http: httpx.AsyncClient, stack: Stack) -> None:
    """Registering a taken 宛名番号 withholds whose it is (tests/test_access_holes.py); the search
    by the number alone must not tell it either: numbers are dense, names and birth dates are not
    the searcher's to harvest by counting up."""
    kaigo, shogai = _user(http, stack, "w-kaigo"), _user(http, stack, "w-shogai")
    atena = str(uuid.uuid4().int)[:12]
    first = await kaigo.post("/persons", person(tag(), atena_number=atena))
    assert await shogai.get("/persons/candidates", atena_number=atena) == []
    # The holder finds its own person by the number, and anyone finds them by their name.
    [found] = await kaigo.get("/persons/candidates", atena_number=atena)
    assert found["person_id"] == first["id"]
    named = await shogai.get("/persons/candidates", family_kana=first["family_kana"],
                             given_kana=first["given_kana"], atena_number=atena)
    assert [c["person_id"] for c in named] == [first["id"]]


async def test_a_reader_under_consent_cannot_hand_the_case_on_to_become_its_holder(
        http: httpx.AsyncClient, stack: Stack) -> None:
    """The person's consent lets the coordinators read (and nothing more). A coordinator who
    records a consultation at their own window naming the person (who did not come) and hands
    it to the coordinators with that consent would make their office a holder: writes open.
    Only an office holding the case hands it on (ACCESS.md, "disclose")."""
    window, coordinator = _user(http, stack, "w-kaigo"), _user(http, stack, "c-desk")
    p = await window.post("/persons", person(tag()))
    consent = await window.post(f"/persons/{p['id']}/consents",
                                {"agencies": ["coordinators", "konkyu"], "method": "oral"})

    async def readable() -> bool:
        r = await http.get(coordinator.base + f"/persons/{p['id']}", headers=coordinator.headers)
        return r.status_code == 200
    await eventually(readable, what="the coordinators read under the consent")
    await coordinator.post(f"/persons/{p['id']}/consents", {"agencies": ["konkyu"], "method": "oral"}, 403)

    handed = {"channel": "phone", "main_complaint": "様子が心配", "person_ids": [p["id"]],
              "destination": {"kind": "coordinator"},
              "handover": {"reason": "コーディネーターへ", "consent_id": consent["id"]}}
    await coordinator.post("/consultations", handed, 403)
    # ...nor to an agency the consent covers: the person's name and address go with the copy.
    await coordinator.post("/consultations", {**handed, "destination": {
        "kind": "agency", "agency": "konkyu"}}, 403)
    await coordinator.post(f"/persons/{p['id']}/consents", {"agencies": ["konkyu"], "method": "oral"}, 403)
    # The holding window hands it on as before.
    await window.post("/consultations", handed)


async def test_break_glass_needs_a_reason_one_can_read(http: httpx.AsyncClient, stack: Stack) -> None:
    """Ten zero-width spaces are ten characters, and no reason: the auditors would read nothing."""
    window, other = _user(http, stack, "w-kaigo"), _user(http, stack, "w-shogai")
    p = await window.post("/persons", person(tag()))
    url = other.base + f"/persons/{p['id']}"
    for invisible in ("\u200b" * 12, "\u2060\ufeff" * 6, "\u200e\u200f" * 6, "\u3000 " * 6):
        r = await http.get(url, headers={**other.headers, "X-Break-Glass-Reason": quote(invisible)})
        assert r.status_code == 403, (invisible.encode("unicode_escape"), r.text)
    r = await http.get(url, headers={**other.headers, "X-Break-Glass-Reason": quote(GLASS)})
    assert r.status_code == 200, r.text


async def test_a_decision_opens_no_outreach_case_of_a_person_it_does_not_concern(
        http: httpx.AsyncClient, stack: Stack) -> None:
    """Any coordinator chairs a 支援会議 of their own, with a person of their own tabled. Its
    start_outreach decision names, in its body, the desk's outreach case about someone else: the
    case must not become that meeting's (its members would read it)."""
    desk = Client(http, stack, "c-desk", "outreach")
    window = _user(http, stack, "w-kaigo")
    victim = await window.post("/persons", person(tag()))
    case = await desk.post("/cases", {"person_id": victim["id"]})

    attacker = _user(http, stack, "c-shakyo")
    own = await attacker.post("/persons", person(tag()))
    chair = Client(http, stack, "c-shakyo", "meetings", sub=attacker.user_id)
    reader = Client(http, stack, "c-shakyo", "outreach", sub=attacker.user_id)
    meeting = (await chair.post("/meetings", {"kind": "support_meeting", "title": "会議",
                                              "scheduled_for": datetime.now(UTC).isoformat()}))["id"]
    await chair.post(f"/meetings/{meeting}/members", {
        "user_id": attacker.user_id, "agency": "shakyo", "pledged_at": datetime.now(UTC).isoformat()})

    async def tabled() -> bool:
        r = await http.post(chair.base + f"/meetings/{meeting}/agenda", headers=chair.headers,
                            json={"person_ids": [own["id"]]})
        return r.status_code == 201
    await eventually(tabled, what="the attacker tables a person of its own")
    await chair.post(f"/meetings/{meeting}/decisions", {
        "kind": "start_outreach", "person_ids": [own["id"]], "outreach_case_id": case["id"]})

    async def decided() -> bool:  # outreach acted on the decision: a case opened for `own`
        rows = await desk.get("/cases", office="coordinators", limit=200)
        return any(r["person_id"] == own["id"] for r in rows)
    await eventually(decided, what="outreach acted on the decision")
    await reader.get(f"/cases/{case['id']}", 403)


async def test_a_client_does_not_choose_the_trace_id_its_audit_records_carry(
        http: httpx.AsyncClient, stack: Stack) -> None:
    window = _user(http, stack, "w-kaigo")
    chosen = uuid.uuid4().hex
    r = await http.post(window.base + "/persons", json=person(tag()),
                        headers={**window.headers, "traceparent": f"00-{chosen}-{uuid.uuid4().hex[:16]}-01"})
    assert r.status_code == 201, r.text
    assert r.headers["X-Trace-Id"] != chosen


async def test_a_support_meeting_names_its_lead_among_its_pledged_members(
        http: httpx.AsyncClient, stack: Stack) -> None:
    """The lead a 支援会議 names holds the outreach case it opens (支援会議 material): an office
    none of whose staff pledged confidentiality would read it."""
    chair = _user(http, stack, "c-desk")
    chair_m = Client(http, stack, "c-desk", "meetings", sub=chair.user_id)
    window = _user(http, stack, "w-kaigo")
    window_m = Client(http, stack, "w-kaigo", "meetings", sub=window.user_id)
    outsider = _user(http, stack, "a-konkyu")
    p = await window.post("/persons", person(tag()))
    meeting = (await chair_m.post("/meetings", {"kind": "support_meeting", "title": "会議",
                                                "scheduled_for": datetime.now(UTC).isoformat()}))["id"]
    for member, agency in ((window_m, "div-kaigo"), (chair_m, "coordinators")):
        await chair_m.post(f"/meetings/{meeting}/members", {
            "user_id": member.user_id, "agency": agency, "pledged_at": datetime.now(UTC).isoformat()})

    async def tabled() -> bool:
        r = await http.post(window_m.base + f"/meetings/{meeting}/agenda", headers=window_m.headers,
                            json={"person_ids": [p["id"]]})
        return r.status_code == 201
    await eventually(tabled, what="the holder tables the person")
    decide = f"/meetings/{meeting}/decisions"
    for lead in ({"lead_agency": "konkyu", "lead_worker": outsider.user_id}, {"lead_agency": "konkyu"},
                 {"lead_agency": "konkyu", "lead_worker": window.user_id}):
        await chair_m.post(decide, {"kind": "start_outreach", "person_ids": [p["id"]], **lead}, 422)
    await chair_m.post(decide, {"kind": "start_outreach", "person_ids": [p["id"]],
                                "lead_agency": "div-kaigo", "lead_worker": window.user_id})


async def test_every_participating_body_means_those_taking_part_when_the_person_consented(
        http: httpx.AsyncClient, stack: Stack) -> None:
    """A person consents to the bodies taking part when they consent (intake fixes the list in
    the consent), not to a body that joins the 重層的支援体制 later."""
    window = _user(http, stack, "w-kaigo")
    p = await window.post("/persons", person(tag()))
    given = await window.post(f"/persons/{p['id']}/consents", {
        "all_participating": True, "method": "written", "evidence_ref": "同意書-全機関"})
    assert {"city", "soudan-hojin"} <= set(given["participating_bodies"])  # what the window sees
    assert "minsei-kyogikai" not in given["participating_bodies"]  # takes no part
    taking_part = _user(http, stack, "a-soudan")

    async def covered() -> bool:
        r = await http.get(taking_part.base + f"/persons/{p['id']}", headers=taking_part.headers)
        return r.status_code == 200
    await eventually(covered, what="a body taking part reads under the consent")
    late = f"late-{uuid.uuid4().hex[:6]}"  # a new legal body of the 重層的支援体制, and its office
    newcomer = Client(http, stack, "a-soudan", sub=f"a-{late}", agency=late)
    await newcomer.get(f"/persons/{p['id']}", 403)
