"""A small world for access tests: one person (and her young son), their consultations,
household, referral and a 支援会議 that tabled them, seen by one principal of each kind in the
access matrix.

Each kind is a seeded user whose user id and agency are made unique to this world, so the
consents below name exactly the agencies they are meant to, and each kind's audit records
can be told apart. Where each user acts is the directory's, not the token's: the world enlists
its offices and users in the test stack's directory (as an operator would) and waits until
every service's view holds them. The 社協's coordinator (`other_coordinator`) staffs the 社協's
office, not the city's general desk. The 支援会議 is chaired by the `chair` coordinator; the holding window
(`same_agency`) is a member and tables the case, since only a holder may. It also tables the
person at a 重層的支援会議 of its own (other_with_consent a member too), under a consent that covers
its division.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from infra.local.stack import Stack
from tests.helpers import bearer, enlist, eventually

KINDS = ("same_agency", "named_it", "other_agency", "other_with_consent", "expired_consent",
         "withdrawn_consent", "meeting_member", "non_member", "chair", "other_coordinator",
         "break_glass", "partner", "auditor", "operator")
STAFF = tuple(k for k in KINDS if k not in ("partner", "auditor", "operator"))
GLASS_REASON = "本人と連絡が取れず生命の危険があるため緊急に確認"
COMPLAINT = "夫からの暴力と借金で生活が立ち行かない"  # must never leak to a denied principal
HEALTH = "うつ病で通院中"


@dataclass
class World:
    stack: Stack
    tag: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    agencies: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # kind -> user id (token subject)
    ids: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = (COMPLAINT, HEALTH)


def _principals(stack: Stack, tag: str) -> tuple[dict[str, dict[str, str]], dict[str, str],
                                                dict[str, str]]:
    agencies = {"same_agency": "div-kaigo", "named_it": f"div-named-{tag}",
                "other_agency": f"soudan-{tag}",
                "other_with_consent": f"kodomo-{tag}", "expired_consent": f"konkyu-{tag}",
                "withdrawn_consent": f"shakyo-{tag}", "meeting_member": f"member-{tag}",
                "non_member": f"member-{tag}", "chair": "coordinators",
                # the 社協's office: a token naming an office the directory does not staff its
                # user at is refused at sign-in (tests/test_sign_in.py)
                "other_coordinator": "shakyo", "break_glass": f"glass-{tag}",
                "partner": "minsei", "auditor": "audit", "operator": "ops",
                "holding_agency": f"houkatsu-{tag}"}
    seeded = {"same_agency": "w-kaigo", "named_it": "w-shogai", "partner": "partner-minsei",
              "auditor": "auditor-1", "chair": "c-desk", "other_coordinator": "c-shakyo", "operator": "ops-1"}
    headers, users = {}, {}
    for kind in (*KINDS, "holding_agency"):
        users[kind] = f"{kind.replace('_', '-')}-{tag}"
        headers[kind] = bearer(stack.token(seeded.get(kind, "a-soudan"), agency=agencies[kind],
                                           sub=users[kind]))
    headers["break_glass"]["X-Break-Glass-Reason"] = quote(GLASS_REASON)
    return headers, agencies, users


async def build(stack: Stack, http: httpx.AsyncClient) -> World:
    tag = uuid.uuid4().hex[:8]
    headers, agencies, users = _principals(stack, tag)
    w = World(stack, tag, headers, agencies, users)
    w.ids["atena"] = str(uuid.uuid4().int)[:12]
    w.ids["holding_agency"] = agencies["holding_agency"]
    intake, window = stack.url("intake"), headers["same_agency"]
    _enlist(w)

    async def ok(r: httpx.Response) -> dict[str, Any]:
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    person = await ok(await http.post(intake + "/persons", headers=window, json={
        "family_name": "福生", "given_name": f"花子{tag}", "family_kana": "フッサ",
        "given_kana": "ハナコ", "birth_date": "1980-04-01", "address": "東京都福生市本町5-12-3",
        "atena_number": w.ids["atena"]}))
    w.ids["person"] = person["id"]
    son = await ok(await http.post(intake + "/persons", headers=window, json={
        "family_name": "福生", "given_name": f"太郎{tag}", "family_kana": "フッサ",
        "given_kana": "タロウ", "birth_date": "2012-05-05"}))  # a minor
    w.ids["son"] = son["id"]
    past = datetime.now(UTC) - timedelta(days=10)
    consents: dict[str, tuple[list[str], datetime | None, datetime | None]] = {
        "handover": ([agencies["holding_agency"]], None, None),
        "holder_self": (["div-kaigo"], None, None),  # lets the holder table it at a 重層的支援会議
        "other_with_consent": ([agencies["other_with_consent"]], None, None),
        "expired_consent": ([agencies["expired_consent"]], past, past + timedelta(days=5)),
        "withdrawn_consent": ([agencies["withdrawn_consent"]], None, None),
    }
    for name, (scope, given, until) in consents.items():
        body: dict[str, Any] = {"agencies": scope, "method": "oral"}
        if given:
            body |= {"given_at": given.isoformat(), "valid_until": until.isoformat() if until else None}
        created = await ok(await http.post(intake + f"/persons/{w.ids['person']}/consents",
                                           headers=window, json=body))
        w.ids[f"consent_{name}"] = created["id"]
    # Handed to withdrawn_consent's agency under its consent, withdrawn afterwards: that agency
    # keeps its copy and reads nothing new (hole 5).
    handed = await ok(await http.post(intake + "/consultations", headers=window, json={
        "channel": "visit", "main_complaint": COMPLAINT, "categories": ["debt"],
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
    household = await ok(await http.post(intake + "/households", headers=window, json={
        "address": "東京都福生市本町5-12-3",
        "members": [{"person_id": w.ids["person"], "relation": "self"}]}))
    w.ids["household"] = household["id"]
    desk = await ok(await http.post(intake + "/consultations", headers=window, json={
        "channel": "phone", "main_complaint": COMPLAINT, "categories": ["debt"],
        "destination": {"kind": "general_desk"}}))  # for the desk's staff, not the 社協's (hole 6)
    w.ids["desk_consultation"] = desk["id"]
    # Another window names the person on its own consultation, sent to the general desk: that
    # makes neither the window nor the desk a holder (`named_it`, `other_coordinator`).
    await ok(await http.post(intake + "/consultations", headers=headers["named_it"], json={
        "channel": "phone", "main_complaint": "近所の方が心配", "person_ids": [w.ids["person"]],
        "destination": {"kind": "general_desk"}}))
    await _meeting(w, http)
    await _referral(w, http)
    await _converged(w, http)
    return w


def _enlist(w: World) -> None:
    """Put the world's users (and new offices) into the test stack's directory, as an operator
    would. The desk's coordinator chairs the meetings; the 社協's staffs the 社協, not the desk."""
    joins = {"chair": ["general-desk", "coordinators"], "other_coordinator": ["shakyo"],
             "operator": []}
    enlist(w.stack, {w.users[kind]: joins.get(kind, [w.agencies[kind]])
                     for kind in (*KINDS, "holding_agency")})


async def _meeting(w: World, http: httpx.AsyncClient) -> None:
    meetings = w.stack.url("meetings")
    w.ids["meeting"] = await schedule(w, http, [w.users["chair"], w.users["meeting_member"],
                                                w.users["same_agency"]])

    async def tabled() -> bool:  # once meetings' view of intake's events knows the holder
        r = await http.post(meetings + f"/meetings/{w.ids['meeting']}/agenda",
                            headers=w.headers["same_agency"], json={
                                "person_ids": [w.ids["person"]],
                                "consultation_ids": [w.ids["consultation"]],
                                "notes": "支援会議資料: 同意なし事例"})
        assert r.status_code in (201, 403), r.text
        if r.status_code == 201:
            w.ids["item"] = r.json()["item_id"]
        return r.status_code == 201

    await eventually(tabled, what="the holder tables the case")

    # A 重層的支援会議 where the holder tabled the person under consent covering its division.
    # other_with_consent is a member too, whom the person's consent covers (its materials' reader).
    w.ids["multilayer"] = await schedule(w, http, [w.users["same_agency"], w.users["other_with_consent"]],
                                         "multilayer_meeting")

    async def tabled_with_consent() -> bool:
        r = await http.post(meetings + f"/meetings/{w.ids['multilayer']}/agenda",
                            headers=w.headers["same_agency"], json={"person_ids": [w.ids["person"]]})
        assert r.status_code in (201, 403), r.text
        if r.status_code == 201:
            w.ids["multilayer_item"] = r.json()["item_id"]
        return r.status_code == 201

    await eventually(tabled_with_consent, what="the holder tables it at the 重層的支援会議")
    for item in ("item", "multilayer_item"):  # the presenting member's material for each item
        r = await http.post(meetings + f"/agenda-items/{w.ids[item]}/materials",
                            headers=w.headers["same_agency"], json={
                                "service": "intake", "record_type": "consultation",
                                "record_id": w.ids["consultation"], "title": "相談記録",
                                "summary": "会議資料の要旨"})
        assert r.status_code == 201, r.text


async def schedule(w: World, http: httpx.AsyncClient, members: list[str],
                   kind: str = "support_meeting") -> str:
    """A meeting chaired by the world's chair, with these user ids as pledged members."""
    meetings, chair = w.stack.url("meetings"), w.headers["chair"]
    r = await http.post(meetings + "/meetings", headers=chair, json={
        "kind": kind, "title": f"会議 {w.tag}", "scheduled_for": datetime.now(UTC).isoformat()})
    assert r.status_code == 201, r.text
    meeting_id: str = r.json()["id"]
    kind_of = {user: k for k, user in w.users.items()}
    for user in members:
        r = await http.post(meetings + f"/meetings/{meeting_id}/members", headers=chair, json={
            "user_id": user, "agency": w.agencies[kind_of[user]],
            "pledged_at": datetime.now(UTC).isoformat()})
        assert r.status_code == 201, r.text
    return meeting_id


async def _referral(w: World, http: httpx.AsyncClient) -> None:
    async def found() -> str | None:
        r = await http.get(w.stack.url("referral") + "/referrals",
                           params={"agency": w.agencies["holding_agency"]},
                           headers=w.headers["holding_agency"])
        return r.json()[0]["id"] if r.status_code == 200 and r.json() else None

    w.ids["referral"] = await eventually(found, what="the referral")


async def _converged(w: World, http: httpx.AsyncClient) -> None:
    """Wait until every service's consent and meeting views have caught up."""
    checks = [("intake", f"/consultations/{w.ids['consultation']}", "meeting_member", 200),
              ("intake", f"/consultations/{w.ids['consultation']}", "chair", 200),
              ("referral", f"/referrals/{w.ids['referral']}", "other_with_consent", 200),
              ("referral", f"/referrals/{w.ids['referral']}", "meeting_member", 200),
              ("referral", f"/referrals/{w.ids['referral']}", "withdrawn_consent", 403)]

    async def all_there() -> bool:
        for service, path, kind, status in checks:
            if (await http.get(w.stack.url(service) + path, headers=w.headers[kind])).status_code != status:
                return False
        return True

    await eventually(all_there, what="views converged")
