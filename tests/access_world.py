"""A small world for access tests: one person (and their son), their consultations, household,
referral and a 支援会議 that tabled them, seen by one principal of each kind in the access matrix.

Each kind is a seeded user placed by the directory (services/referral/directory.json): where a
user acts and for which legal body is looked up there, never taken from the token. Meeting
members are users of their own, in no office, so only their membership opens anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from infra.local.stack import Stack
from tests.helpers import bearer, eventually

KINDS = ("same_agency", "other_agency", "other_with_consent", "expired_consent",
         "withdrawn_consent", "meeting_member", "non_member", "partner", "auditor")
COMPLAINT = "夫からの暴力と借金で生活が立ち行かない"  # must never leak to a denied principal
HEALTH = "うつ病で通院中"
# kind -> (seeded user, the office the directory says they staff)
USERS = {"same_agency": ("w-kaigo", "div-kaigo"), "other_agency": ("a-soudan", "soudan-1"),
         "other_with_consent": ("a-kodomo", "kodomo-katei"),
         "expired_consent": ("a-konkyu", "konkyu"),
         "withdrawn_consent": ("c-shakyo", "shakyo"),  # the 社協's coordinator
         "partner": ("partner-minsei", "minsei"), "auditor": ("auditor-1", "audit"),
         "holding_agency": ("a-houkatsu", "houkatsu-1"), "coordinator": ("c-desk", "general-desk")}


@dataclass
class World:
    stack: Stack
    tag: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    agencies: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = (COMPLAINT, HEALTH)


def _principals(stack: Stack, tag: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    headers = {kind: bearer(stack.token(user)) for kind, (user, _) in USERS.items()}
    for kind, sub in (("meeting_member", f"member-{tag}"), ("non_member", f"nonmember-{tag}")):
        headers[kind] = bearer(stack.token("a-soudan", sub=sub))
    return headers, {kind: office for kind, (_, office) in USERS.items()}


async def build(stack: Stack, http: httpx.AsyncClient) -> World:
    tag = uuid.uuid4().hex[:8]
    headers, agencies = _principals(stack, tag)
    w = World(stack, tag, headers, agencies)
    intake, window = stack.url("intake"), headers["same_agency"]

    async def ok(r: httpx.Response) -> dict[str, Any]:
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    for name, first, born in (("person", "花子", "1980-04-01"), ("son", "太郎", "2012-05-05")):
        person = await ok(await http.post(intake + "/persons", headers=window, json={
            "family_name": "福生", "given_name": f"{first}{tag}", "family_kana": "フッサ",
            "given_kana": "ハナコ" if name == "person" else "タロウ", "birth_date": born,
            "address": "東京都福生市本町5-12-3"}))
        w.ids[name] = person["id"]
    past = datetime.now(UTC) - timedelta(days=10)
    consents: dict[str, tuple[list[str], datetime | None, datetime | None]] = {
        "handover": ([agencies["holding_agency"]], None, None),
        "other_with_consent": ([agencies["other_with_consent"]], None, None),
        "expired_consent": ([agencies["expired_consent"]], past, past + timedelta(days=5)),
        "withdrawn_consent": (["shakyo-hojin"], None, None),  # a legal body: the 社協
    }
    for name, (scope, given, until) in consents.items():
        body: dict[str, Any] = {"agencies": scope, "method": "oral"}
        if given:
            body |= {"given_at": given.isoformat(), "valid_until": until.isoformat() if until else None}
        created = await ok(await http.post(intake + f"/persons/{w.ids['person']}/consents",
                                           headers=window, json=body))
        w.ids[f"consent_{name}"] = created["id"]
    # Handed to the 社協 under its consent, which is withdrawn afterwards: the 社協 keeps its
    # copy and reads nothing new.
    handed = await ok(await http.post(intake + "/consultations", headers=window, json={
        "channel": "visit", "main_complaint": COMPLAINT, "categories": ["debt"], "urgency": "normal",
        "person_ids": [w.ids["person"]], "health_notes": HEALTH,
        "destination": {"kind": "agency", "agency": agencies["withdrawn_consent"]},
        "handover": {"reason": "参加支援のため", "consent_id": w.ids["consent_withdrawn_consent"]}}))
    w.ids["handed"] = handed["id"]
    await ok(await http.post(intake + f"/consents/{w.ids['consent_withdrawn_consent']}/withdraw",
                             headers=window, json={"reason": "本人の申し出"}))
    consultation = await ok(await http.post(intake + "/consultations", headers=window, json={
        "channel": "visit", "main_complaint": COMPLAINT, "categories": ["domestic_violence", "debt"],
        "urgency": "high", "person_ids": [w.ids["person"]], "health_notes": HEALTH,
        "destination": {"kind": "agency", "agency": agencies["holding_agency"]},
        "handover": {"reason": "DV相談のため", "consent_id": w.ids["consent_handover"]}}))
    w.ids["consultation"] = consultation["id"]
    desk = await ok(await http.post(intake + "/consultations", headers=window, json={
        "channel": "phone", "main_complaint": COMPLAINT, "categories": ["debt"],
        "destination": {"kind": "general_desk"}}))
    w.ids["desk_consultation"] = desk["id"]
    household = await ok(await http.post(intake + "/households", headers=window, json={
        "address": "東京都福生市本町5-12-3",
        "members": [{"person_id": w.ids["person"], "relation": "self"}]}))
    w.ids["household"] = household["id"]
    await _meeting(w, http)
    await _referral(w, http)
    await _converged(w, http)
    return w


async def _meeting(w: World, http: httpx.AsyncClient) -> None:
    meetings, coordinator = w.stack.url("meetings"), w.headers["coordinator"]
    meeting = (await http.post(meetings + "/meetings", headers=coordinator, json={
        "kind": "support_meeting", "title": f"支援会議 {w.tag}",
        "scheduled_for": datetime.now(UTC).isoformat()})).json()
    w.ids["meeting"] = meeting["id"]
    pledged = datetime.now(UTC).isoformat()
    for user, agency in (("c-desk", "coordinators"), (f"member-{w.tag}", "soudan-1")):
        r = await http.post(meetings + f"/meetings/{meeting['id']}/members", headers=coordinator,
                            json={"user_id": user, "agency": agency, "pledged_at": pledged})
        assert r.status_code == 201, r.text
    r = await http.post(meetings + f"/meetings/{meeting['id']}/agenda", headers=coordinator, json={
        "person_ids": [w.ids["person"]], "consultation_ids": [w.ids["consultation"]],
        "notes": "支援会議資料: 同意なし事例"})
    assert r.status_code == 201, r.text


async def _referral(w: World, http: httpx.AsyncClient) -> None:
    async def found() -> str | None:
        r = await http.get(w.stack.url("referral") + "/referrals",
                           params={"agency": w.agencies["holding_agency"]},
                           headers=w.headers["holding_agency"])
        mine = [x["id"] for x in r.json() if x["consultation_id"] == w.ids["consultation"]] \
            if r.status_code == 200 else []
        return mine[0] if mine else None

    w.ids["referral"] = await eventually(found, what="the referral")


async def _converged(w: World, http: httpx.AsyncClient) -> None:
    """Wait until every service's consent and meeting views have caught up."""
    checks = [("intake", f"/consultations/{w.ids['consultation']}", "meeting_member", 200),
              ("referral", f"/referrals/{w.ids['referral']}", "other_with_consent", 200),
              ("referral", f"/referrals/{w.ids['referral']}", "meeting_member", 200),
              ("referral", f"/referrals/{w.ids['referral']}", "withdrawn_consent", 403)]

    async def all_there() -> bool:
        for service, path, kind, status in checks:
            if (await http.get(w.stack.url(service) + path, headers=w.headers[kind])).status_code != status:
                return False
        return True

    await eventually(all_there, what="views converged")
