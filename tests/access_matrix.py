"""The access matrix: every endpoint that takes an object x every kind of principal, reads and
writes apart.

Each later service adds its endpoints to ENDPOINTS; tests/test_access_matrix.py runs them all
against the world of tests/access_world.py. A cell states the expected status; for a success it
also lists the fields that must come back empty (protected); anything else must not contain any
of the world's secrets (zero leaks) and must be on the audit trail (every refusal is recorded).
A write that changes the world works on an object `prepare` makes for that cell alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.access_world import COMPLAINT, KINDS, STAFF, World, schedule
from tests.helpers import eventually

Prepare = Callable[[World, httpx.AsyncClient, str], Awaitable[str]]  # (world, http, kind) -> id
Body = Callable[[World, str, str | None], dict[str, Any]]  # (world, kind, prepared id) -> JSON


@dataclass(frozen=True)
class Endpoint:
    name: str
    service: str
    path: str  # "{id}" is the world's object `obj`, or the prepared object when obj == "prepared";
    # any other "{name}" is the world's object of that name
    obj: str
    permitted: frozenset[str]  # kinds that get `ok`; every other kind gets 403
    hidden: dict[str, frozenset[str]] = field(default_factory=dict)  # kind -> fields left empty
    method: str = "GET"
    body: Body | None = None
    prepare: Prepare | None = None
    ok: int = 200
    secret_ids: tuple[str, ...] = ()  # world ids a refusal must not carry...
    reveals_to: frozenset[str] = frozenset()  # ...except to these kinds, who may read them
    sent_by: str | None = None  # a kind that asks about the cell's kind (else the kind asks)

    def expected(self, kind: str) -> int:
        return self.ok if kind in self.permitted else 403


def _kinds(*names: str) -> frozenset[str]:
    assert set(names) <= set(KINDS), set(names) - set(KINDS)
    return frozenset(names)


async def _consent(w: World, http: httpx.AsyncClient, kind: str) -> str:
    r = await http.post(w.stack.url("intake") + f"/persons/{w.ids['person']}/consents",
                        headers=w.headers["same_agency"], json={"agencies": ["konkyu"], "method": "oral"})
    assert r.status_code == 201, r.text
    consent_id: str = r.json()["id"]
    return consent_id


async def _duplicate(w: World, http: httpx.AsyncClient, kind: str) -> str:
    r = await http.post(w.stack.url("intake") + "/persons", headers=w.headers["same_agency"], json={
        "family_name": "福生", "given_name": f"花子{w.tag}", "family_kana": "フッサ",
        "given_kana": "ハナコ", "birth_date": "1980-04-01"})
    assert r.status_code == 201, r.text
    person_id: str = r.json()["id"]
    return person_id


async def _meeting_with(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """A fresh 支援会議 where the cell's principal is a pledged member: only holding the case
    is then in question when they table it."""
    return await schedule(w, http, list(dict.fromkeys([w.users["chair"], w.users[kind]])))


def _person_body(w: World, kind: str, _: str | None) -> dict[str, Any]:
    return {"family_name": "別人", "given_name": "登録", "family_kana": "ベツジン",
            "given_kana": "トウロク", "atena_number": w.ids["atena"]}


def _to(office: str) -> Body:
    return lambda w, k, _: {"channel": "visit", "main_complaint": "相談", "categories": ["debt"],
                            "destination": {"kind": "agency", "agency": office}}


async def _consultation_known(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """A fresh consultation naming the world's person (not as present: that would make the desk
    a holder of her), recorded by the holding window and sent to the general desk; returned once
    referral knows it (the desk's routing task is there)."""
    r = await http.post(w.stack.url("intake") + "/consultations", headers=w.headers["same_agency"], json={
        "channel": "visit", "main_complaint": COMPLAINT_OF_CELL, "categories": ["debt"],
        "person_ids": [w.ids["person"]], "destination": {"kind": "general_desk"}})
    assert r.status_code == 201, r.text
    consultation: str = r.json()["id"]

    async def known() -> bool:
        rows = await http.get(w.stack.url("referral") + "/referrals", headers=w.headers["chair"],
                              params={"agency": "general-desk", "limit": 200})
        return consultation in [x["consultation_id"] for x in rows.json()]
    await eventually(known, what="referral knows the consultation")
    return consultation


async def _referred(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """The holding window referred a fresh consultation to other_with_consent's office (the
    person's consent covers it)."""
    consultation = await _consultation_known(w, http, kind)
    r = await http.post(w.stack.url("referral") + "/referrals", headers=w.headers["same_agency"],
                        json=_referral_of(w, kind, consultation))
    assert r.status_code == 201, r.text
    referral: str = r.json()["id"]
    return referral


def _referral_of(w: World, kind: str, consultation: str | None) -> dict[str, Any]:
    return {"consultation_id": consultation, "to_office": w.agencies["other_with_consent"],
            "reason": "specialist_support", "from_office": "div-kaigo" if kind == "same_agency" else None}


# -- outreach (issue 12): its objects are made once per world, on first use -----------------------
async def _agreed_partner(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """The world's partner, under a watch-over agreement the coordinators registered."""
    if "partner_agreed" not in w.ids:
        r = await http.put(w.stack.url("outreach") + f"/partners/{w.users['partner']}",
                           headers=w.headers["chair"], json={
                               "office_id": "minsei", "since": "2026-04-01",
                               "may_report": ["mail_piling_up", "no_utility_use"]})
        assert r.status_code == 204, r.text
        w.ids["partner_agreed"] = w.users["partner"]
    return w.ids["partner_agreed"]


async def _concern(w: World, http: httpx.AsyncClient, kind: str) -> str:
    if "concern" not in w.ids:
        await _agreed_partner(w, http, kind)
        reports = [await http.post(w.stack.url("outreach") + "/concerns", headers=w.headers["partner"],
                                   json=_concern_body(w, kind, None)) for _ in range(3)]
        assert all(r.status_code == 201 for r in reports), reports[-1].text
        w.ids["concern"] = reports[0].json()["id"]
    return w.ids["concern"]


async def _alert(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """The weak signal the world's three reports about one address raised."""
    if "alert" not in w.ids:
        concern = await _concern(w, http, kind)

        async def raised() -> str | None:
            # The office's inbox is the session's, newest first: its alerts only, a full page
            # (a test that moved the clock ahead leaves items dated after any made since).
            r = await http.get(w.stack.url("notifications") + "/inbox/coordinators",
                               headers=w.headers["chair"],
                               params={"kind": "WeakSignalAlert", "limit": 200})
            for item in r.json():
                alert = await http.get(w.stack.url("outreach") + f"/alerts/{item['about_id']}",
                                       headers=w.headers["chair"])
                if concern in alert.json()["report_ids"]:
                    return str(item["about_id"])
            return None
        w.ids["alert"] = await eventually(raised, what="the world's weak signal")
    return w.ids["alert"]


def _concern_body(w: World, kind: str, _: str | None) -> dict[str, Any]:
    return {"address": f"福生市本町{w.tag}-1", "seen": ["mail_piling_up"], "urgency": "low",
            "note": COMPLAINT}


async def _outreach_case(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """The coordinators' case about the world's person, before any consent covering it; read
    once the 支援会議 that tabled her is known to outreach's view."""
    if "outreach_case" not in w.ids:
        w.ids["outreach_case"] = await _new_outreach_case(w, http, kind)

        async def tabled() -> bool:
            r = await http.get(w.stack.url("outreach") + f"/cases/{w.ids['outreach_case']}",
                               headers=w.headers["meeting_member"])
            return r.status_code == 200
        await eventually(tabled, what="outreach knows the 支援会議")
    return w.ids["outreach_case"]


async def _new_outreach_case(w: World, http: httpx.AsyncClient, kind: str) -> str:
    r = await http.post(w.stack.url("outreach") + "/cases", headers=w.headers["chair"],
                        json={"person_id": w.ids["person"], "known": COMPLAINT})
    assert r.status_code == 201, r.text
    case: str = r.json()["id"]
    return case


OUTREACH_DESK = _kinds("chair")  # staffs the coordinators' office, which holds reports and cases
# -- plans (issue 11) ---------------------------------------------------------------------------
def _plan_body(w: World, kind: str, _: str | None) -> dict[str, Any]:
    """A plan by the holding window; its team: other_with_consent's agency (covered by consent),
    and the agencies of other_agency (never covered), expired_consent and withdrawn_consent."""
    team = ("other_with_consent", "other_agency", "expired_consent", "withdrawn_consent")
    return {"person_ids": [w.ids["person"]], "content": {
        "goals": [{"term": "short", "words": "安心して暮らしたい"}],
        "roles": [{"agency": w.agencies[k], "role": "支援", "actions": "訪問"} for k in team],
        "lead_agency": "div-kaigo", "lead_worker": w.users["same_agency"],
        "review_dates": ["2027-03-01"]}}


async def _created(w: World, http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    r = await http.post(w.stack.url("plans") + path, headers=w.headers["same_agency"], json=body)
    assert r.status_code == 201, r.text
    created: str = r.json()["id"]
    return created


async def _draft_plan(w: World, http: httpx.AsyncClient, kind: str) -> str:
    return await _created(w, http, "/plans", _plan_body(w, kind, None))


async def _approved_plan(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """One plan of the world, approved by the world's 重層的支援会議 (made once, then reused)."""
    if "plan" not in w.ids:
        plan = await _draft_plan(w, http, kind)
        r = await http.post(w.stack.url("meetings") + f"/meetings/{w.ids['multilayer']}/decisions",
                            headers=w.headers["chair"], json={
                                "kind": "approve_plan", "person_ids": [w.ids["person"]],
                                "plan_id": plan, "plan_version": 1})
        assert r.status_code == 201, r.text

        async def approved() -> bool:
            r = await http.post(w.stack.url("plans") + f"/plans/{plan}/approve",
                                headers=w.headers["same_agency"])
            return r.status_code == 200
        await eventually(approved, what="the plan approved by the meeting's decision")
        w.ids["plan"] = plan
    return w.ids["plan"]


async def _assessment(w: World, http: httpx.AsyncClient, kind: str) -> str:
    if "assessment" not in w.ids:
        w.ids["assessment"] = await _created(w, http, "/assessments", _assessment_body(w, kind, None))
    return w.ids["assessment"]


def _assessment_body(w: World, kind: str, _: str | None) -> dict[str, Any]:
    return {"person_ids": [w.ids["person"]], "sheet": {"wishes": "家で暮らしたい", "areas": {
        "health_medical": {"situation": "通院中"}}}}


PLAN_READERS = _kinds("same_agency", "other_with_consent", "break_glass")
# -- participation support (issue 9): run by the coordinators, under a consent covering them --
async def _participation(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """The world's person's participation support, run by the chair's coordinators office under a
    consent (recorded by the holding window) covering it and the employment host (konkyu); made
    once, with a needs profile."""
    if "participation" in w.ids:
        return w.ids["participation"]
    referral = w.stack.url("referral")
    r = await http.post(w.stack.url("intake") + f"/persons/{w.ids['person']}/consents",
                        headers=w.headers["same_agency"],
                        json={"agencies": ["coordinators", "konkyu"], "method": "oral"})
    assert r.status_code == 201, r.text
    w.ids["participation"] = await _started(w, http)
    r = await http.put(referral + f"/participations/{w.ids['participation']}/profile",
                       headers=w.headers["chair"], json=_PROFILE)
    assert r.status_code == 200, r.text
    w.ids["placement"] = await _placed(w, http, w.ids["participation"])
    return w.ids["participation"]


async def _started(w: World, http: httpx.AsyncClient) -> str:
    async def started() -> str | None:  # once referral's consent view has the consent
        r = await http.post(w.stack.url("referral") + "/participations", headers=w.headers["chair"],
                            json=_start_body(w, "chair", None))
        assert r.status_code in (201, 403), r.text
        return r.json()["id"] if r.status_code == 201 else None
    participation: str = await eventually(started, what="referral has the consent")
    return participation


async def _placed(w: World, http: httpx.AsyncClient, participation: str) -> str:
    r = await http.post(w.stack.url("referral") + f"/participations/{participation}/placements",
                        headers=w.headers["chair"], json={"resource_id": "chukanteki-shuro"})
    assert r.status_code == 201, r.text
    placement: str = r.json()["id"]
    return placement


async def _placement(w: World, http: httpx.AsyncClient, kind: str) -> str:
    await _participation(w, http, kind)
    return w.ids["placement"]


async def _fresh_placement(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """A placement of a participation of its own (made stable, it takes no other)."""
    await _participation(w, http, kind)
    return await _placed(w, http, await _started(w, http))


def _start_body(w: World, kind: str, _: str | None) -> dict[str, Any]:
    # The chair staffs two offices that may run it (names one); the 社協's coordinator one.
    return {"person_id": w.ids["person"], "need_codes": ["employment"],
            "office": "coordinators" if kind == "chair" else None}


_PROFILE = {"need_codes": ["employment"], "interests": ["cleaning"], "hours_per_week": 20,
            "mobility": ["walk"], "area": "fussa-chuo", "wants": "働く練習をしたい"}
COORDINATORS = _kinds("chair")


COMPLAINT_OF_CELL = "つなぎの相談"
CASE_READERS = _kinds("same_agency", "other_with_consent", "meeting_member", "chair", "break_glass")
NOT_HEALTH = frozenset({"health_notes"})
HOLDER = _kinds("same_agency")
SUPPORT_MEMBERS = _kinds("meeting_member", "chair", "same_agency")
CONSENTED_MEMBERS = _kinds("same_agency", "other_with_consent")


def _material(w: World, kind: str, _: str | None) -> dict[str, Any]:
    return {"service": "plans", "record_type": "plan", "record_id": w.ids["person"], "title": "支援計画"}


# -- redteam: the routes no cell reached (tests/test_attack_surface.py keeps every route here) --
async def _decision(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """One decision of the world's 支援会議 (made once)."""
    if "decision" not in w.ids:
        r = await http.post(w.stack.url("meetings") + f"/meetings/{w.ids['meeting']}/decisions",
                            headers=w.headers["chair"],
                            json={"kind": "start_outreach", "person_ids": [w.ids["person"]]})
        assert r.status_code == 201, r.text
        w.ids["decision"] = r.json()["decision_id"]
    return w.ids["decision"]


async def _accepted(w: World, http: httpx.AsyncClient, kind: str) -> str:
    referral = await _referred(w, http, kind)
    r = await http.post(w.stack.url("referral") + f"/referrals/{referral}/accept",
                        headers=w.headers["other_with_consent"])
    assert r.status_code == 200, r.text
    return referral


async def _merged(w: World, http: httpx.AsyncClient, kind: str) -> str:
    """A duplicate the holding window merged into the world's person."""
    duplicate = await _duplicate(w, http, kind)
    r = await http.post(w.stack.url("intake") + f"/persons/{w.ids['person']}/merge",
                        headers=w.headers["same_agency"],
                        json={"person_id": duplicate, "reason": "同一人物と確認"})
    assert r.status_code == 200, r.text
    return duplicate


async def _fresh_assessment(w: World, http: httpx.AsyncClient, kind: str) -> str:
    return await _created(w, http, "/assessments", _assessment_body(w, kind, None))


EVERYONE = frozenset(KINDS)
OPERATORS = _kinds("operator")


ENDPOINTS: list[Endpoint] = [
    # -- reads ----------------------------------------------------------------------------------
    Endpoint("consultation", "intake", "/consultations/{id}", "consultation", CASE_READERS,
             {"other_with_consent": NOT_HEALTH, "meeting_member": NOT_HEALTH, "chair": NOT_HEALTH}),
    Endpoint("person", "intake", "/persons/{id}", "person", CASE_READERS),
    Endpoint("person's consents", "intake", "/persons/{id}/consents", "person", CASE_READERS),
    # How many consultations are hidden is told to the household's holder only (hole 7).
    Endpoint("household", "intake", "/households/{id}", "household", CASE_READERS,
             {k: frozenset({"hidden_consultations"}) for k in CASE_READERS - HOLDER}),
    Endpoint("referral", "referral", "/referrals/{id}", "referral", CASE_READERS),
    # 支援会議 material: its members only, whatever else the user may see; no break-glass.
    Endpoint("support meeting", "meetings", "/meetings/{id}", "meeting",
             _kinds("meeting_member", "chair", "same_agency")),
    # Decided on the role or office, not on a record: refusals are on record all the same.
    Endpoint("audit trail", "intake", "/audit", "person", _kinds("auditor")),
    Endpoint("the auditors' inbox", "notifications", "/inbox/audit", "person", _kinds("auditor")),
    Endpoint("another office's referral list", "referral", "/referrals?agency={id}", "holding_agency",
             frozenset()),
    Endpoint("the referrals another office made", "referral", "/referrals?agency={id}&sent=true",
             "holding_agency", frozenset()),
    # -- writes: a holder's act; consent, membership or break-glass readers write nothing ---------
    Endpoint("record a consent", "intake", "/persons/{id}/consents", "person", HOLDER,
             method="POST", ok=201, body=lambda w, k, _: {"agencies": ["konkyu"], "method": "oral"}),
    Endpoint("withdraw a consent", "intake", "/consents/{id}/withdraw", "prepared", HOLDER,
             method="POST", prepare=_consent, body=lambda w, k, _: {"reason": "本人の申し出"}),
    Endpoint("merge persons", "intake", "/persons/{id}/merge", "person", HOLDER, method="POST",
             prepare=_duplicate, body=lambda w, k, dup: {"person_id": dup, "reason": "同一人物と確認"}),
    Endpoint("set household members", "intake", "/households/{id}/members", "household", HOLDER,
             method="PUT", body=lambda w, k, _: {"members": [{"person_id": w.ids["person"],
                                                              "relation": "self"}]}),
    Endpoint("attach a consultation to the household", "intake", "/consultations", "household",
             HOLDER, method="POST", ok=201, body=lambda w, k, _: {
                 "channel": "visit", "main_complaint": "世帯の相談", "household_id": w.ids["household"],
                 "destination": {"kind": "handled_here"}}),
    Endpoint("table at a 支援会議", "meetings", "/meetings/{id}/agenda", "prepared", HOLDER,
             method="POST", ok=201, prepare=_meeting_with,
             body=lambda w, k, _: {"person_ids": [w.ids["person"]]}),
    Endpoint("add a meeting member", "meetings", "/meetings/{id}/members", "meeting",
             _kinds("chair"), method="POST", ok=201, body=lambda w, k, _: {
                 "user_id": f"guest-{k}-{w.tag}", "agency": "soudan-1",
                 "pledged_at": datetime.now(UTC).isoformat()}),
    Endpoint("schedule a meeting", "meetings", "/meetings", "meeting",
             _kinds("chair", "other_coordinator"), method="POST", ok=201, body=lambda w, k, _: {
                 "kind": "support_meeting", "title": "会議", "scheduled_for": datetime.now(UTC).isoformat()}),
    # A 重層的支援会議 rests on consent: the chair adds only those whose agency its items' consent
    # covers (the world's consents cover div-kaigo and other_with_consent's agency).
    Endpoint("join a 重層的支援会議", "meetings", "/meetings/{id}/members", "multilayer",
             _kinds("same_agency", "other_with_consent"), method="POST", ok=201, sent_by="chair",
             body=lambda w, k, _: {"user_id": w.users[k], "agency": w.agencies[k]}),
    # -- issue 10: the session and the decisions are the chair's to record (members read them) ---
    Endpoint("record a meeting's session", "meetings", "/meetings/{id}/held", "meeting",
             _kinds("chair"), method="POST", ok=201, body=lambda w, k, _: {"attendee_ids": []}),
    Endpoint("decide at a 支援会議", "meetings", "/meetings/{id}/decisions", "meeting",
             _kinds("chair"), method="POST", ok=201, body=lambda w, k, _: {
                 "kind": "start_outreach", "person_ids": [w.ids["person"]]}),
    Endpoint("decide at a 重層的支援会議", "meetings", "/meetings/{id}/decisions", "multilayer",
             _kinds("chair"), method="POST", ok=201, body=lambda w, k, _: {
                 "kind": "approve_assessment", "person_ids": [w.ids["person"]],
                 "assessment_id": w.ids["person"]}),
    # -- issue 10: an item's materials and minutes keep its body's rule; decisions read likewise --
    # The 支援会議 (item): its pledged members (meeting_member, chair, same_agency) only; the
    # 重層的支援会議 (multilayer_item, another body's item): its members whom the consent covers
    # (same_agency, other_with_consent). Consent alone, break-glass or holding the case opens no
    # meeting material; nor does membership of the other body.
    *(Endpoint(f"{name}'s materials", "meetings", path, obj, readers) for name, path, obj, readers in (
        ("a 支援会議 item", "/agenda-items/{id}/materials", "item", SUPPORT_MEMBERS),
        ("a 支援会議", "/meetings/{id}/materials", "meeting", SUPPORT_MEMBERS),
        ("a 重層的支援会議 item", "/agenda-items/{id}/materials", "multilayer_item", CONSENTED_MEMBERS),
        ("a 重層的支援会議", "/meetings/{id}/materials", "multilayer", CONSENTED_MEMBERS))),
    Endpoint("a 支援会議's decisions", "meetings", "/meetings/{id}/decisions", "meeting", SUPPORT_MEMBERS),
    Endpoint("a 重層的支援会議's decisions", "meetings", "/meetings/{id}/decisions", "multilayer",
             CONSENTED_MEMBERS),
    # Written by members acting in the meeting: the chair and the item's presenting member (the
    # 重層的支援会議's chair is no member whom the consent covers: it writes nothing there).
    Endpoint("present a material at a 支援会議", "meetings", "/agenda-items/{id}/materials", "item",
             _kinds("same_agency", "chair"), method="POST", ok=201, body=_material),
    Endpoint("present a material at a 重層的支援会議", "meetings", "/agenda-items/{id}/materials",
             "multilayer_item", HOLDER, method="POST", ok=201, body=_material),
    Endpoint("record a 支援会議 item's minutes", "meetings", "/agenda-items/{id}/minutes", "item",
             _kinds("chair"), method="PUT", body=lambda w, k, _: {"minutes": f"議事録 {k}"}),
    Endpoint("record a 重層的支援会議 item's minutes", "meetings", "/agenda-items/{id}/minutes",
             "multilayer_item", frozenset(), method="PUT", body=lambda w, k, _: {"minutes": "議事録"}),
    # -- referrals (issue 9): a holder refers; only the receiver answers; only the referrer withdraws
    Endpoint("refer a consultation", "referral", "/referrals", "prepared",
             HOLDER | _kinds("chair"), method="POST", ok=201, prepare=_consultation_known,
             body=_referral_of),
    Endpoint("accept a referral", "referral", "/referrals/{id}/accept", "prepared",
             _kinds("other_with_consent"), method="POST", prepare=_referred),
    Endpoint("decline a referral", "referral", "/referrals/{id}/decline", "prepared",
             _kinds("other_with_consent"), method="POST", prepare=_referred,
             body=lambda w, k, _: {"reason": "no_capacity"}),
    Endpoint("complete a referral", "referral", "/referrals/{id}/complete", "prepared",
             _kinds("other_with_consent"), method="POST", prepare=_referred,
             body=lambda w, k, _: {"outcome": "got_help"}),
    Endpoint("withdraw a referral", "referral", "/referrals/{id}/withdraw", "prepared", HOLDER,
             method="POST", prepare=_referred),
    # -- plans (issue 11): holders write; the plan's team writes notes while consent covers it;
    # consent-based and break-glass readers read; a 支援会議 membership shows no plan ---------
    Endpoint("a plan", "plans", "/plans/{id}", "prepared", PLAN_READERS, prepare=_approved_plan),
    Endpoint("a plan's version", "plans", "/plans/{id}/versions/1", "prepared", PLAN_READERS,
             prepare=_approved_plan),
    Endpoint("a plan's progress notes", "plans", "/plans/{id}/notes", "prepared", PLAN_READERS,
             prepare=_approved_plan),
    Endpoint("an assessment", "plans", "/assessments/{id}", "prepared", PLAN_READERS,
             prepare=_assessment),
    Endpoint("the lead ledger", "plans", "/persons/{id}/lead", "person", PLAN_READERS),
    Endpoint("write an assessment", "plans", "/assessments", "person", HOLDER, method="POST",
             ok=201, body=_assessment_body),
    Endpoint("draft a plan", "plans", "/plans", "person", HOLDER, method="POST", ok=201,
             body=_plan_body),
    Endpoint("review a plan", "plans", "/plans/{id}/revisions", "prepared", HOLDER, method="POST",
             ok=201, prepare=_draft_plan, body=lambda w, k, _: {"content": _plan_body(w, k, _)["content"]}),
    # the holder is told what the meeting has not decided; everyone else is refused first
    Endpoint("approve a plan without the decision", "plans", "/plans/{id}/approve", "prepared",
             HOLDER, method="POST", ok=409, prepare=_draft_plan),
    Endpoint("close a plan without the decision", "plans", "/plans/{id}/close", "prepared", HOLDER,
             method="POST", ok=409, prepare=_draft_plan, body=lambda w, k, _: {"why": "理由"}),
    Endpoint("record progress on a plan", "plans", "/plans/{id}/notes", "prepared",
             _kinds("same_agency", "other_with_consent"), method="POST", ok=201,
             prepare=_approved_plan, body=lambda w, k, _: {"text": "面談した"}),
    # -- participation support and community resources (issue 9) ------------------------------
    # The person's participation support is the coordinators' (the chair's) to write; it is read
    # like the case (consent, the 支援会議 it is tabled at, break-glass). Resources are staff's;
    # a resource's capacity is its host office's (the 社協's: other_coordinator) alone.
    Endpoint("participation support", "referral", "/participations/{id}", "prepared", CASE_READERS,
             prepare=_participation),
    Endpoint("the coordinators' participation list", "referral", "/participations?office=coordinators",
             "person", COORDINATORS),
    Endpoint("search community resources", "referral", "/resources?need=belonging&area=fussa-kita",
             "person", frozenset(STAFF)),
    Endpoint("a community resource", "referral", "/resources/salon-minami", "person", frozenset(STAFF)),
    Endpoint("the HSDS export", "referral", "/hsds/services", "person", frozenset(STAFF)),
    Endpoint("start participation support", "referral", "/participations", "person", COORDINATORS,
             method="POST", ok=201, prepare=_participation, body=_start_body),
    Endpoint("record a needs profile", "referral", "/participations/{id}/profile", "prepared",
             COORDINATORS, method="PUT", prepare=_participation, body=lambda w, k, _: _PROFILE),
    Endpoint("match resources", "referral", "/participations/{id}/match", "prepared", COORDINATORS,
             method="POST", prepare=_participation),
    Endpoint("place with a host", "referral", "/participations/{id}/placements", "prepared",
             COORDINATORS, method="POST", ok=201, prepare=_participation,
             body=lambda w, k, _: {"resource_id": "chukanteki-shuro"}),
    Endpoint("record a visit to the host", "referral", "/placements/{id}/visits", "prepared",
             COORDINATORS, method="POST", ok=201, prepare=_placement,
             body=lambda w, k, _: {"visited_on": "2026-12-01", "note": "受け入れ先と面談"}),
    Endpoint("mark a placement stable", "referral", "/placements/{id}/stable", "prepared",
             COORDINATORS, method="POST", prepare=_fresh_placement),
    Endpoint("end a placement", "referral", "/placements/{id}/end", "prepared",
             COORDINATORS, method="POST", prepare=_fresh_placement,
             body=lambda w, k, _: {"reason": "moved_on"}),
    Endpoint("update a resource's capacity", "referral", "/resources/salon-minami/capacity", "person",
             _kinds("other_coordinator"), method="POST", body=lambda w, k, _: {"available": 20}),
    # -- the register cannot be harvested (hole 8) ------------------------------------------------
    Endpoint("search without a name key", "intake", "/persons/candidates?family_kana=AAA&"
             "birth_date=1980-04-01", "person", frozenset(STAFF), ok=422),
    Endpoint("register a taken 宛名番号", "intake", "/persons", "person", frozenset(STAFF),
             method="POST", ok=409, body=_person_body, secret_ids=("person",),
             reveals_to=CASE_READERS),
    # -- who staffs which office is the directory's (hole 6) ---------------------------------
    # The 社協's coordinator (other_coordinator) does not act for the city's general desk.
    Endpoint("the general desk's consultation", "intake", "/consultations/{id}", "desk_consultation",
             _kinds("same_agency", "chair", "break_glass")),
    Endpoint("the general desk's inbox", "notifications", "/inbox/general-desk", "person",
             _kinds("chair")),
    Endpoint("the general desk's referrals", "referral", "/referrals?agency=general-desk", "person",
             _kinds("chair")),
    # -- what an agency was handed stays with it; nothing new reaches it (hole 5) -------------
    # Handed to withdrawn_consent's agency under the consent since withdrawn.
    Endpoint("a consultation handed over, its consent since withdrawn", "intake",
             "/consultations/{id}", "handed", CASE_READERS,
             {"other_with_consent": NOT_HEALTH, "meeting_member": NOT_HEALTH, "chair": NOT_HEALTH}),
    Endpoint("the receiver's own copy of it", "intake", "/consultations/{id}/handed-over-copy",
             "handed", CASE_READERS | _kinds("withdrawn_consent")),
    # -- consents with safeguards (hole 4): the holder is told why, nobody gets it accepted ----
    Endpoint("a minor's own consent", "intake", "/persons/{id}/consents", "son", HOLDER,
             method="POST", ok=422, body=lambda w, k, _: {"agencies": ["konkyu"], "method": "oral"}),
    Endpoint("a wildcard scope", "intake", "/persons/{id}/consents", "person", HOLDER,
             method="POST", ok=422, body=lambda w, k, _: {"agencies": ["*"], "method": "oral",
                                                         "purposes": ["support", "health"]}),
    Endpoint("every participating body without evidence", "intake", "/persons/{id}/consents",
             "person", HOLDER, method="POST", ok=422,
             body=lambda w, k, _: {"all_participating": True, "method": "oral"}),
    Endpoint("a body not in the directory", "intake", "/persons/{id}/consents", "person", HOLDER,
             method="POST", ok=422, body=lambda w, k, _: {"agencies": ["nowhere-npo"], "method": "oral"}),
    # -- only real destinations take hand-overs (hole 9) --------------------------------------
    *(Endpoint(f"hand-over to {name}", "intake", "/consultations", "person", frozenset(STAFF),
               method="POST", ok=422, body=_to(office))
      for name, office in (("the auditors' inbox", "audit"), ("a partner", "minsei"),
                           ("an unknown office", "nowhere-npo"))),
    # -- one person's consent is never another's (hole 3) -------------------------------------
    Endpoint("a hand-over of mother and son on the mother's consent", "intake", "/consultations",
             "person", frozenset(STAFF), method="POST", ok=422, body=lambda w, k, _: {
                 "channel": "visit", "main_complaint": "母子の相談",
                 "person_ids": [w.ids["person"], w.ids["son"]],
                 "destination": {"kind": "agency", "agency": w.agencies["holding_agency"]},
                 "handover": {"reason": "母子の支援", "consent_id": w.ids["consent_handover"]}}),
    # -- notifications (issue 13): inboxes are their staff's or their user's; webhooks operators' --
    Endpoint("mark the general desk's inbox read", "notifications", "/inbox/general-desk/read",
             "person", _kinds("chair"), method="POST"),
    Endpoint("one's own personal inbox", "notifications", "/me/inbox", "person", frozenset(KINDS)),
    Endpoint("webhook deliveries", "notifications", "/webhooks/deliveries", "person",
             _kinds("operator")),
    Endpoint("register a webhook subscriber", "notifications", "/webhooks/subscribers", "person",
             _kinds("operator"), method="POST", ok=201, body=lambda w, k, _: {
                 "url": "http://127.0.0.1:9/nowhere", "event_types": ["MemberJoined"]}),
    # -- the operator's mending (kit/operators_api.py): operators only, reads and writes apart ---
    Endpoint("dead letters", "referral", "/operators/dead-letters?consumer={id}", "holding_agency",
             _kinds("operator")),
    Endpoint("one dead letter", "notifications", "/operators/dead-letters/999999999", "person",
             _kinds("operator"), ok=404),
    Endpoint("parked outbox rows", "intake", "/operators/outbox/parked", "person",
             _kinds("operator")),
    Endpoint("replay a dead letter", "plans", "/operators/dead-letters/999999999/replay", "person",
             _kinds("operator"), method="POST", ok=404),
    Endpoint("discard a dead letter", "outreach", "/operators/dead-letters/999999999/discard",
             "person", _kinds("operator"), method="POST", ok=404,
             body=lambda w, k, _: {"reason": "試験"}),
    Endpoint("re-queue a parked outbox row", "meetings", "/operators/outbox/parked/999999999/replay",
             "person", _kinds("operator"), method="POST"),
    # -- outreach (issue 12): before consent, 支援会議 material: the holding office, and pledged
    # members of a 支援会議 that tabled the person (reading only); no consent, no break-glass.
    # A partner reports and reads back its acknowledgement, nothing else.
    Endpoint("an outreach case before consent", "outreach", "/cases/{id}", "prepared",
             OUTREACH_DESK | _kinds("meeting_member", "same_agency"), prepare=_outreach_case),
    Endpoint("the coordinators' outreach cases", "outreach", "/cases?office=coordinators", "person",
             OUTREACH_DESK),
    Endpoint("another office's outreach cases", "outreach", "/cases?office={id}", "holding_agency",
             frozenset()),
    Endpoint("a partner's report", "outreach", "/concerns/{id}", "prepared", OUTREACH_DESK,
             prepare=_concern),
    Endpoint("a report's acknowledgement", "outreach", "/concerns/{id}/status", "prepared",
             _kinds("partner"), prepare=_concern),
    Endpoint("a weak-signal alert", "outreach", "/alerts/{id}", "prepared", OUTREACH_DESK,
             prepare=_alert),
    Endpoint("register a partner's agreement", "outreach", "/partners/{id}", "prepared",
             OUTREACH_DESK, method="PUT", ok=204, prepare=_agreed_partner, body=lambda w, k, _: {
                 "office_id": "minsei", "since": "2026-04-01",
                 "may_report": ["mail_piling_up", "no_utility_use"]}),
    Endpoint("report a concern", "outreach", "/concerns", "prepared", _kinds("partner"),
             method="POST", ok=201, prepare=_agreed_partner, body=_concern_body),
    Endpoint("start an outreach case", "outreach", "/cases", "person", OUTREACH_DESK,
             method="POST", ok=201, body=lambda w, k, _: {"person_id": w.ids["person"]}),
    Endpoint("log a contact attempt", "outreach", "/cases/{id}/attempts", "prepared",
             OUTREACH_DESK, method="POST", prepare=_outreach_case,
             body=lambda w, k, _: {"method": "letter", "outcome": "no_answer"}),
    Endpoint("pause an outreach case", "outreach", "/cases/{id}/stage", "prepared", OUTREACH_DESK,
             method="POST", prepare=_new_outreach_case,
             body=lambda w, k, _: {"action": "pause", "reason": "person_asked"}),
    Endpoint("record a home visit", "outreach", "/cases/{id}/actions", "prepared", OUTREACH_DESK,
             method="POST", prepare=_outreach_case, body=lambda w, k, _: {"kind": "home_visit"}),
    Endpoint("plan an outreach hand-over", "outreach", "/cases/{id}/handover", "prepared",
             OUTREACH_DESK, method="POST", prepare=_outreach_case,
             body=lambda w, k, _: {"to_office": "houkatsu-1", "categories": ["elderly_care"]}),
    # -- redteam: every route of every service has its cells (tests/test_attack_surface.py) ----
    Endpoint("one decision of a 支援会議", "meetings", "/meetings/{meeting}/decisions/{id}", "prepared",
             SUPPORT_MEMBERS, prepare=_decision),
    Endpoint("start support on a referral", "referral", "/referrals/{id}/start", "prepared",
             _kinds("other_with_consent"), method="POST", prepare=_accepted),
    Endpoint("complete an assessment", "plans", "/assessments/{id}/complete", "prepared", HOLDER,
             method="POST", prepare=_fresh_assessment, body=lambda w, k, _: {}),
    Endpoint("approve an assessment without the decision", "plans", "/assessments/{id}/approve",
             "prepared", HOLDER, method="POST", ok=409, prepare=_fresh_assessment),
    Endpoint("unmerge persons", "intake", "/persons/{id}/unmerge", "person", HOLDER, method="POST",
             prepare=_merged, body=lambda w, k, dup: {"person_id": dup, "reason": "別人と確認"}),
    Endpoint("register a household with the person", "intake", "/households", "person", HOLDER,
             method="POST", ok=201, body=lambda w, k, _: {
                 "members": [{"person_id": w.ids["person"], "relation": "self"}]}),
    Endpoint("the directory", "referral", "/directory", "person", frozenset(STAFF)),
    Endpoint("the categories (a taxonomy, no personal data)", "intake", "/categories", "person",
             EVERYONE),
    Endpoint("the audit trail's export", "plans", "/audit/export?person_id={id}", "person",
             _kinds("auditor")),
    Endpoint("mark one's own inbox read", "notifications", "/me/inbox/read", "person", EVERYONE,
             method="POST"),
    Endpoint("mark an item of no inbox of one's own read", "notifications", "/me/inbox/{id}/read",
             "consultation", EVERYONE, method="POST", ok=404),
    Endpoint("mark an item of the general desk's inbox read", "notifications",
             "/inbox/general-desk/{id}/read", "consultation", _kinds("chair"), method="POST", ok=404),
    Endpoint("one's own digest setting", "notifications", "/me/digest", "person", EVERYONE),
    Endpoint("set one's own digest", "notifications", "/me/digest", "person", EVERYONE,
             method="PUT", body=lambda w, k, _: {"enabled": False}),
    Endpoint("webhook subscribers", "notifications", "/webhooks/subscribers", "person", OPERATORS),
    Endpoint("rotate a webhook secret", "notifications", "/webhooks/subscribers/{id}/secret",
             "person", OPERATORS, method="POST", ok=404),
    Endpoint("retire a webhook's previous secret", "notifications",
             "/webhooks/subscribers/{id}/previous-secret", "person", OPERATORS, method="DELETE",
             ok=404),
    Endpoint("one webhook delivery", "notifications", "/webhooks/deliveries/{id}", "person",
             OPERATORS, ok=404),
    # An unknown delivery answers 409 "not a parked delivery" (reported: 404 would be plainer).
    Endpoint("replay a webhook delivery", "notifications", "/webhooks/deliveries/{id}/replay",
             "person", OPERATORS, method="POST", ok=409),
    Endpoint("replay every dead letter", "meetings", "/operators/dead-letters/replay?limit=1",
             "person", OPERATORS, method="POST"),
    Endpoint("re-queue every parked outbox row", "meetings", "/operators/outbox/parked/replay",
             "person", OPERATORS, method="POST"),
]
