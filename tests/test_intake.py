"""intake through its HTTP API: the window, the hand-over form, people, households, consents."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from infra.local import databases
from infra.local.stack import Stack
from kit.db import create_pool
from kit.uow import UnitOfWork
from services.intake.handlers import announce_expired_consents
from tests.helpers import Client, person, tag


@pytest.fixture
def window(http: httpx.AsyncClient, stack: Stack) -> Client:
    return Client(http, stack, "w-shogai")


async def test_any_window_takes_any_consultation(window: Client) -> None:
    c = await window.post("/consultations", {
        "channel": "phone", "main_complaint": "子どもが学校に行けていない",
        "categories": ["child_rearing", "young_carer"], "destination": {"kind": "general_desk"},
        "intake_sheet": {"consulter": "family", "age_band": "40s", "household_type": "parent_child"}})
    assert c["receiving_division"] == "div-shogai"  # from the token, not the body
    assert c["intake_sheet"]["household_type"] == "parent_child"
    refused = await window.post("/consultations", {"channel": "phone", "main_complaint": "x",
                                                   "categories": ["astrology"],
                                                   "destination": {"kind": "handled_here"}}, 422)
    assert "unknown categories" in refused["detail"]
    assert (await window.get("/categories"))["social_withdrawal"]["ja"] == "ひきこもり"


async def test_partners_do_not_record_consultations(http: httpx.AsyncClient, stack: Stack) -> None:
    partner = Client(http, stack, "partner-minsei")
    await partner.post("/consultations", {"channel": "visit", "main_complaint": "x",
                                          "destination": {"kind": "handled_here"}}, 403)


async def test_the_hand_over_form_and_its_consent(window: Client) -> None:
    p = await window.post("/persons", person(tag()))
    to_agency = {"channel": "visit", "main_complaint": "生活費が足りない", "categories": ["poverty"],
                 "person_ids": [p["id"]], "destination": {"kind": "agency", "agency": "konkyu"}}
    coordinator = {**to_agency, "destination": {"kind": "coordinator"}}
    assert (await window.post("/consultations", coordinator, 422))["type"].endswith("handover-refused")
    no_consent = {**to_agency, "handover": {"reason": "家計相談が必要"}}
    assert "needs their consent" in (await window.post("/consultations", no_consent, 422))["detail"]

    other = await window.post(f"/persons/{p['id']}/consents", {"agencies": ["soudan-1"], "method": "oral"})
    wrong = {**to_agency, "handover": {"reason": "家計相談が必要", "consent_id": other["id"]}}
    assert "covers handing this to konkyu" in (await window.post("/consultations", wrong, 422))["detail"]

    past = datetime.now(UTC) - timedelta(days=30)
    expired = await window.post(f"/persons/{p['id']}/consents", {
        "agencies": ["konkyu"], "method": "oral", "given_at": past.isoformat(),
        "valid_until": (past + timedelta(days=1)).isoformat()})
    assert expired["status"] == "expired"
    stale = {**to_agency, "handover": {"reason": "家計相談が必要", "consent_id": expired["id"]}}
    await window.post("/consultations", stale, 422)

    good = await window.post(f"/persons/{p['id']}/consents", {
        "agencies": ["konkyu", "coordinators"], "method": "written", "evidence_ref": "同意書-2026-0042"})
    c = await window.post("/consultations", {**to_agency, "handover": {
        "reason": "家計相談が必要", "consent_id": good["id"]}})
    assert c["handover"]["main_complaint"] == "生活費が足りない"  # defaults to the consultation's
    await window.post("/consultations", {**coordinator, "handover": {
        "reason": "複合課題", "consent_id": good["id"]}})


async def test_consent_rules(window: Client, stack: Stack) -> None:
    p = await window.post("/persons", person(tag()))
    path = f"/persons/{p['id']}/consents"
    assert "names them" in (await window.post(path, {"agencies": ["city"], "method": "oral",
                                                     "given_by": "guardian"}, 422))["detail"]
    written = await window.post(path, {"agencies": ["city"], "method": "written"}, 422)
    assert "evidence_ref" in written["detail"]
    c = await window.post(path, {"agencies": ["city"], "method": "oral", "given_by": "representative",
                                 "given_by_name": "成年後見人 山田"})
    assert c["status"] == "active" and c["given_by_name"] == "成年後見人 山田"
    withdrawn = await window.post(f"/consents/{c['id']}/withdraw", {"reason": "本人の申し出"}, 200)
    assert withdrawn["status"] == "withdrawn"
    await window.post(f"/consents/{c['id']}/withdraw", {}, 409)
    owner = await asyncpg.connect(databases.owner_dsn(stack.postgres_port, "intake"))
    try:  # immutable once given, even for the database owner
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await owner.execute("UPDATE consents SET agencies = '{everyone}' WHERE id = $1",
                                uuid.UUID(c["id"]))
    finally:
        await owner.close()


async def test_expired_consents_are_announced(window: Client, stack: Stack) -> None:
    p = await window.post("/persons", person(tag()))
    past = datetime.now(UTC) - timedelta(days=3)
    c = await window.post(f"/persons/{p['id']}/consents", {
        "agencies": ["konkyu-hojin"], "method": "oral", "given_at": past.isoformat(),
        "valid_until": (past + timedelta(days=1)).isoformat()})
    pool = await create_pool(databases.service_dsn(stack.postgres_port, "intake"))
    try:
        await announce_expired_consents(lambda: UnitOfWork(pool, "intake", "132187"))
        payloads = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
                    for r in await pool.fetch("SELECT payload FROM outbox WHERE type = "
                                              "'jp.tsunagu.intake.consent_expired.v1'")]
        assert [x for x in payloads if x["consent_id"] == c["id"]]
        # intake's own consent view ends it in the same transaction: its consumer does not
        # read intake.events back (services/intake/app.py)
        ended = await pool.fetchval("SELECT withdrawn_at FROM consent_view WHERE consent_id = $1",
                                    uuid.UUID(c["id"]))
        assert ended == datetime.fromisoformat(c["valid_until"])
    finally:
        await pool.close()


async def test_registration_and_person_number(window: Client) -> None:
    await window.post("/persons", person(tag(), family_kana="", given_kana=""), 422)
    atena = str(uuid.uuid4().int)[:12]
    first = await window.post("/persons", person(tag(), atena_number=atena))
    dup = await window.post("/persons", person(tag(), atena_number=atena), 409)
    assert dup["person_id"] == first["id"]
    shown = await window.get(f"/persons/{first['id']}")
    assert shown["family_name"] == "渡邊" and shown["family_kana"] == "ワタナベ"  # as typed


async def test_candidates_are_suggested_never_merged(window: Client, http: httpx.AsyncClient,
                                                     stack: Stack) -> None:
    t = tag()
    typed = await window.post("/persons", person(t, family_name="渡邊", family_kana="ﾜﾀﾅﾍﾞ"))
    other_day = await window.post("/persons", person(t, birth_date="1961-01-01"))
    found = await window.get("/persons/candidates", family_kana="わたなべ", given_kana=f"いちろう{t}",
                             family_name="渡辺", given_name="一郎", birth_date="1950-06-15")
    assert found[0]["person_id"] == typed["id"]
    assert {"生年月日一致", "氏名一致（異体字を含む）"} <= set(found[0]["reasons"])
    assert found[0]["family_name"] == "渡邊"  # the original spelling, never overwritten
    without_date = await window.get("/persons/candidates", family_kana="ワタナベ",
                                    given_kana=f"イチロウ{t}", family_name="渡辺", given_name="一郎")
    assert {typed["id"], other_day["id"]} <= {f["person_id"] for f in without_date[:2]}
    assert (await window.get(f"/persons/{typed['id']}"))["merged_into"] is None
    await window.get("/persons/candidates", 422, family_kana="ワ")  # too short to browse


async def test_searches_are_bounded_per_user(http: httpx.AsyncClient, stack: Stack) -> None:
    searcher = Client(http, stack, "w-kaigo", sub=f"searcher-{uuid.uuid4().hex[:6]}")
    statuses = [(await http.get(searcher.base + "/persons/candidates", params={"family_kana": "サトウ"},
                                headers=searcher.headers)).status_code for _ in range(32)]
    assert statuses[:30] == [200] * 30 and statuses[30:] == [429, 429]


async def test_merge_and_unmerge_are_explicit_and_kept(window: Client) -> None:
    a = await window.post("/persons", person(tag()))
    b = await window.post("/persons", person(tag(), given_kana="イチロー"))
    merged = await window.post(f"/persons/{a['id']}/merge", {"person_id": b["id"],
                                                             "reason": "同一人物と本人確認"}, 200)
    assert merged["merges"][0]["merged_person_id"] == b["id"]
    assert (await window.get(f"/persons/{b['id']}"))["merged_into"] == a["id"]
    await window.post(f"/persons/{a['id']}/merge", {"person_id": b["id"], "reason": "二重操作"}, 409)
    await window.post(f"/persons/{a['id']}/unmerge", {"person_id": b["id"], "reason": "別人と判明"}, 200)
    b_now = await window.get(f"/persons/{b['id']}")
    assert b_now["merged_into"] is None and b_now["merges"][0]["unmerge_reason"] == "別人と判明"
    c = await window.post("/persons", person(tag(), atena_number="111111"))
    d = await window.post("/persons", person(tag(), atena_number="222222"))
    refused = await window.post(f"/persons/{c['id']}/merge", {"person_id": d["id"],
                                                              "reason": "同一人物？"}, 409)
    assert "宛名番号" in refused["detail"]


async def test_household_view_across_divisions(http: httpx.AsyncClient, stack: Stack) -> None:
    kaigo, shogai = Client(http, stack, "w-kaigo"), Client(http, stack, "w-shogai")
    # Mother and son came to the long-term care window together: it registers both and holds
    # both; the son also came to the disability window on his own.
    parent = await kaigo.post("/persons", person(tag(), given_name="ハナ", birth_date="1942-02-02"))
    son = await kaigo.post("/persons", person(tag(), given_name="太郎", birth_date="1972-03-03"))
    home = await kaigo.post("/households", {"members": [{"person_id": parent["id"], "relation": "parent"},
                                                        {"person_id": son["id"], "relation": "child"}]})
    await kaigo.post("/consultations", {"channel": "home_visit", "main_complaint": "介護疲れ",
                                        "categories": ["elderly_care", "8050"], "person_ids": [parent["id"]],
                                        "household_id": home["id"], "destination": {"kind": "handled_here"}})
    await shogai.post("/consultations", {"channel": "visit", "main_complaint": "外出できない",
                                         "categories": ["social_withdrawal"], "person_ids": [son["id"]],
                                         "present_ids": [son["id"]],
                                         "destination": {"kind": "handled_here"}})
    view = await kaigo.get(f"/households/{home['id']}")
    assert [c["main_complaint"] for c in view["consultations"]] == ["介護疲れ"]
    assert view["hidden_consultations"] == 1  # the disability division's, without consent
    assert {m.get("restricted", False) for m in view["members"]} == {False}
    await shogai.post(f"/persons/{son['id']}/consents", {"agencies": ["div-kaigo"], "method": "oral"})
    view = await kaigo.get(f"/households/{home['id']}")
    assert sorted(c["main_complaint"] for c in view["consultations"]) == ["介護疲れ", "外出できない"]
    assert view["hidden_consultations"] == 0
    await Client(http, stack, "a-konkyu").get(f"/households/{home['id']}", 403)
