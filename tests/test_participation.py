"""Issue 9, participation support (参加支援), through the HTTP API of the running services: a
placement from matching to stable with its follow-ups on the city's working days, a meeting's
decision starting it and a correction superseding it, a resource gap, the directory's community
resources searched (bounded, audited) and exported as HSDS 3 that validates against the
official schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from infra.local import databases
from infra.local.stack import Stack
from tests.helpers import Client, eventually, person, tag
from tests.test_access_holes import _meeting, _tables
from tests.test_referrals import JST, User, _clock_at, _events

HSDS = Path(__file__).with_name("hsds")


@pytest.fixture
def u(http: httpx.AsyncClient, stack: Stack) -> dict[str, User]:
    names = ("w-kaigo", "c-desk", "c-shakyo", "a-konkyu", "auditor-1", "partner-minsei")
    return {n: User(http, stack, n) for n in names}


async def _person(window: User, *agencies: str) -> str:
    """A person who came to the window, with a consent to share with `agencies`."""
    p: str = (await window.call("POST", "intake", "/persons", person(tag()), 201))["id"]
    await window.call("POST", "intake", f"/persons/{p}/consents",
                      {"agencies": list(agencies), "method": "oral"}, 201)
    return p


async def _started(coordinator: User, person_id: str, *needs: str) -> str:
    """Started by the coordinator once referral's consent view has the person's consent."""
    async def attempt() -> str | None:
        r = await coordinator.http.post(coordinator.stack.url("referral") + "/participations",
                                        json={"person_id": person_id, "need_codes": list(needs),
                                              "office": "coordinators"},
                                        headers=coordinator.headers)
        assert r.status_code in (201, 403), r.text
        return r.json()["id"] if r.status_code == 201 else None
    found: str = await eventually(attempt, what="the consent reached referral")
    return found


def _profile(**more: Any) -> dict[str, Any]:
    return {"need_codes": ["social_contact", "belonging"], "interests": ["music"],
            "hours_per_week": 4, "mobility": ["walk"], "area": "fussa-minami",
            "wants": "人と話したい。歌が好きです", **more}


async def _step_raised(user: User, participation: str, placement: str, step: str) -> bool:
    p = await user.call("GET", "referral", f"/participations/{participation}", status=200)
    [mine] = [x for x in p["placements"] if x["id"] == placement]
    return any(f["step"] == step and f["raised_at"] for f in mine["follow_ups"])


async def test_a_placement_from_match_to_stable_with_follow_ups(u: dict[str, User], stack: Stack) -> None:
    coordinator, window = u["c-desk"], u["w-kaigo"]
    before = stack.shift_clock(0)
    try:
        _clock_at(stack, datetime(2026, 12, 25, 10, tzinfo=JST))  # the Friday before the closure
        p = await _person(window, "coordinators", "shakyo-hojin")
        # a window is no coordinator: it asks one, or a meeting decides
        await window.call("POST", "referral", "/participations",
                          {"person_id": p, "need_codes": ["belonging"]}, 403)
        pid = await _started(coordinator, p, "social_contact")
        path = f"/participations/{pid}"
        await coordinator.call("POST", "referral", path + "/match", status=422)  # no profile yet
        await coordinator.call("PUT", "referral", path + "/profile", _profile(), 200)
        await u["c-shakyo"].call("PUT", "referral", path + "/profile", _profile(), 403)
        ranking = await coordinator.call("POST", "referral", path + "/match", status=200)
        best = ranking["matches"][0]
        assert best["resource_id"] == "salon-minami" and ranking["unmet_needs"] == []
        assert "同じ地区 / in the person's area" in best["reasons"]
        assert any("music" in r for r in best["reasons"])
        # the consent does not cover the 居場所's NPO: no placement there, with the way forward
        refused = await coordinator.call("POST", "referral", path + "/placements",
                                         {"resource_id": "ibasho-furatto"}, 403)
        assert "host:ibasho-net" in refused["detail"]
        placed = await coordinator.call("POST", "referral", path + "/placements",
                                        {"resource_id": "salon-minami"}, 201)
        # a sentinel placement of another person, never made stable
        other = await _started(coordinator, await _person(window, "coordinators", "shakyo-hojin"),
                               "social_contact")
        sentinel = await coordinator.call("POST", "referral", f"/participations/{other}/placements",
                                          {"resource_id": "volunteer-center"}, 201)
        shown = await coordinator.call("GET", "referral", path, status=200)
        due = {f["step"]: datetime.fromisoformat(f["due_at"]).astimezone(JST).date().isoformat()
               for f in shown["placements"][0]["follow_ups"]}
        assert due == {"1w": "2027-01-04", "1m": "2027-01-25", "3m": "2027-03-25", "6m": "2027-06-25"}
        assert shown["profile"]["wants"] == "人と話したい。歌が好きです"
        await coordinator.call("POST", "referral", f"/placements/{placed['id']}/visits",
                               {"visited_on": "2026-12-28", "note": "笑顔で参加していた"}, 201)

        _clock_at(stack, datetime(2027, 1, 4, 0, 30, tzinfo=JST))  # after the closure
        await eventually(lambda: _step_raised(coordinator, pid, placed["id"], "1w"), what="1w due")
        # the reminder reaches the placing office's inbox and the worker's own
        async def reminded() -> bool:
            inbox = await coordinator.call("GET", "notifications", "/inbox/coordinators",
                                           kind="FollowUpDue", limit=200)
            mine = await coordinator.call("GET", "notifications", "/me/inbox", kind="FollowUpDue")
            return all(any(i["about_id"] == placed["id"] for i in items) for items in (inbox, mine))
        await eventually(reminded, what="the follow-up reminder in the inboxes")

        _clock_at(stack, datetime(2027, 1, 25, 0, 30, tzinfo=JST))
        await eventually(lambda: _step_raised(coordinator, pid, placed["id"], "1m"), what="1m due")
        await coordinator.call("POST", "referral", f"/placements/{placed['id']}/stable", status=200)
        await coordinator.call("POST", "referral", f"/placements/{placed['id']}/stable", status=409)

        _clock_at(stack, datetime(2027, 3, 25, 0, 30, tzinfo=JST))
        await eventually(lambda: _step_raised(coordinator, other, sentinel["id"], "3m"), what="3m due")
        assert not await _step_raised(coordinator, pid, placed["id"], "3m")  # stable: no more
    finally:
        stack.shift_clock(before - stack.shift_clock(0))
    assert await _events(stack, pid) == ["resource_matched", "placement_started", "follow_up_due",
                                         "follow_up_due", "placement_stable"]


async def test_a_meeting_starts_it_a_gap_is_recorded_and_a_correction_supersedes_it(
        u: dict[str, User], http: httpx.AsyncClient, stack: Stack) -> None:
    chair, window, runner = u["c-desk"], u["w-kaigo"], u["c-shakyo"]
    p, q = [await _person(window, "div-kaigo", "shakyo-hojin") for _ in range(2)]
    member = Client(http, stack, "w-kaigo", "meetings")
    meeting = await _meeting(Client(http, stack, "c-desk", "meetings"), "multilayer_meeting",
                             [(member, "div-kaigo")])
    await _tables(member, meeting, {"person_ids": [p, q]}, 201)
    decided = await chair.call("POST", "meetings", f"/meetings/{meeting}/decisions", {
        "kind": "start_participation_support", "person_ids": [p, q], "need_codes": ["employment"]},
        201)

    async def started() -> dict[str, Any] | None:
        rows = await runner.call("GET", "referral", "/participations", office="shakyo", limit=200)
        mine = {r["person_id"]: r for r in rows if r["person_id"] in (p, q)}
        return mine if len(mine) == 2 else None
    rows = await eventually(started, what="the 社協 runs the decided participation support")
    row = rows[p]
    assert row["decision_id"] == decided["decision_id"] and row["need_codes"] == ["employment"]
    path = f"/participations/{row['id']}"
    await runner.call("PUT", "referral", path + "/profile", _profile(
        need_codes=["employment"], mobility=["home"], hours_per_week=20, area=None), 200)
    for _ in range(2):  # matched twice, the gap recorded once
        ranking = await runner.call("POST", "referral", path + "/match", status=200)
        assert ranking["matches"] == [] and ranking["unmet_needs"] == ["employment"]

    [gap_id] = await _referral_db(stack, "SELECT DISTINCT gap_id::text FROM resource_gaps "
                                  "WHERE participation_id = $1", uuid.UUID(row["id"]))
    [gap] = [json.loads(e) for e in await _referral_db(
        stack, "SELECT payload::text FROM outbox WHERE key = $1", gap_id)]
    assert gap == {"gap_id": gap_id, "need_codes": ["employment"], "area": None,
                   "recorded_at": gap["recorded_at"]}  # need codes and area only

    async def in_inbox() -> bool:
        items = await chair.call("GET", "notifications", "/inbox/coordinators",
                                 kind="ResourceGapRecorded", limit=200)
        return any(i["about_id"] == gap_id for i in items)
    await eventually(in_inbox, what="the gap in the coordinators' inbox")

    # Corrected: only q, and for volunteering. p's support no longer stands; q's goes on.
    corrected = await chair.call("POST", "meetings", f"/meetings/{meeting}/decisions", {
        "kind": "start_participation_support", "person_ids": [q], "need_codes": ["volunteering"],
        "supersedes": decided["decision_id"], "reason": "対象者の誤り"}, 201)

    async def superseded() -> dict[str, Any] | None:
        r = await runner.call("GET", "referral", path, status=200)
        s = await runner.call("GET", "referral", f"/participations/{rows[q]['id']}", status=200)
        return s if r["superseded_at"] and s["decision_id"] == corrected["decision_id"] else None
    still = await eventually(superseded, what="the correction reached referral")
    assert still["superseded_at"] is None and still["need_codes"] == ["volunteering"]
    await runner.call("POST", "referral", path + "/match", status=409)


async def _referral_db(stack: Stack, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(databases.service_dsn(stack.postgres_port, "referral"))
    try:
        return [r[0] for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def _hsds_validator() -> Draft202012Validator:
    schemas = {f.name: json.loads(f.read_text()) for f in HSDS.glob("*.json")}
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(s, default_specification=DRAFT202012)) for name, s in schemas.items())
    return Draft202012Validator(schemas["service.json"], registry=registry, format_checker=FormatChecker())


async def test_the_hsds_export_validates_against_the_official_schema(u: dict[str, User]) -> None:
    export = await u["c-desk"].call("GET", "referral", "/hsds/services", status=200)
    validator = _hsds_validator()
    assert export["total_items"] == len(export["contents"]) >= 7
    for service in export["contents"]:
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(service)]
        assert not errors, (service["name"], errors)
    salon = next(s for s in export["contents"] if s["name"].startswith("ふれあい"))
    assert salon["capacities"][0]["maximum"] == 20 and salon["schedules"][0]["byday"] == "TU"
    assert salon["organization"]["name"] == "社会福祉法人 福生市社会福祉協議会"
    # the validator is no rubber stamp: a broken service fails it
    assert list(validator.iter_errors({**salon, "id": "salon", "status": "open"}))
    await u["partner-minsei"].call("GET", "referral", "/hsds/services", status=403)


async def test_resource_search_is_bounded_audited_and_follows_capacity(u: dict[str, User],
                                                                        http: httpx.AsyncClient,
                                                                        stack: Stack) -> None:
    worker, host = u["c-desk"], u["c-shakyo"]
    since = datetime.now(UTC).isoformat()
    found = await worker.call("GET", "referral", "/resources", need="social_contact",
                              area="fussa-minami", status=200)
    assert {"salon-minami", "volunteer-center"} <= {r["id"] for r in found["items"]}
    salon = next(r for r in found["items"] if r["id"] == "salon-minami")
    assert salon["contact"]["phone"] and salon["capacity"]["maximum"] == 20
    await worker.call("POST", "referral", "/resources/salon-minami/capacity", {"available": 0}, 403)
    try:
        await host.call("POST", "referral", "/resources/salon-minami/capacity", {"available": 0}, 200)
        await host.call("POST", "referral", "/resources/salon-minami/capacity", {"available": 21}, 422)
        free = await worker.call("GET", "referral", "/resources", need="social_contact",
                                 area="fussa-minami", available="true", status=200)
        assert "salon-minami" not in {r["id"] for r in free["items"]}
    finally:
        await host.call("POST", "referral", "/resources/salon-minami/capacity", {"available": 20}, 200)
    for bad in ({}, {"need": "shelter"}, {"need": "belonging", "limit": "51"},
                {"need": "belonging", "offset": "1001"}, {"area": "tokyo"}):
        r = await http.get(stack.url("referral") + "/resources", params=bad, headers=worker.headers)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", bad
    await u["partner-minsei"].call("GET", "referral", "/resources", need="belonging", status=403)
    trail = await u["auditor-1"].call("GET", "referral", "/audit", user_id="c-desk", since=since,
                                      limit=1000)
    searches = [e for e in trail if e["action"] == "search" and e["object_type"] == "resources"]
    assert any("need=social_contact" in e["reason"] for e in searches)
    assert any(e["object_type"] == "resource_capacity" and e["outcome"] == "denied" for e in trail)


async def _free(user: User, resource_id: str) -> tuple[int, int]:
    """(free places on the resource's own page, available in its HSDS service_capacity)."""
    page = await user.call("GET", "referral", f"/resources/{resource_id}", status=200)
    export = await user.call("GET", "referral", "/hsds/services", status=200)
    [hsds] = [s for s in export["contents"] if s["name"] == page["name"]]
    return page["capacity"]["available"], hsds["capacities"][0]["available"]


async def test_a_placement_takes_a_free_place_and_its_end_gives_it_back(u: dict[str, User]) -> None:
    coordinator, window = u["c-desk"], u["w-kaigo"]
    resource = "jinzai-bank"  # the 社協's 人材バンク: no other test places there
    first = await _started(coordinator, await _person(window, "coordinators", "shakyo-hojin"),
                           "skills_use")
    second = await _started(coordinator, await _person(window, "coordinators", "shakyo-hojin"),
                            "skills_use")
    free, in_hsds = await _free(coordinator, resource)
    assert free == in_hsds > 1
    one = await coordinator.call("POST", "referral", f"/participations/{first}/placements",
                                 {"resource_id": resource}, 201)
    two = await coordinator.call("POST", "referral", f"/participations/{second}/placements",
                                 {"resource_id": resource}, 201)
    assert await _free(coordinator, resource) == (free - 2, free - 2)
    # only the office running the support ends it; the host's or another coordinator's cannot
    await u["c-shakyo"].call("POST", "referral", f"/placements/{one['id']}/end", {"reason": "moved_on"}, 403)
    ended = await coordinator.call("POST", "referral", f"/placements/{one['id']}/end",
                                   {"reason": "moved_on"}, 200)
    assert ended["ended"] is True
    assert await _free(coordinator, resource) == (free - 1, free - 1)
    await coordinator.call("POST", "referral", f"/placements/{one['id']}/end", {"reason": "moved_on"}, 409)
    await coordinator.call("POST", "referral", f"/placements/{one['id']}/stable", status=409)
    assert await _free(coordinator, resource) == (free - 1, free - 1)  # given back once
    shown = await coordinator.call("GET", "referral", f"/participations/{first}", status=200)
    assert shown["status"] == "open" and shown["placements"][0]["end_reason"] == "moved_on"
    # a stable placement still holds its place until it ends
    await coordinator.call("POST", "referral", f"/placements/{two['id']}/stable", status=200)
    assert await _free(coordinator, resource) == (free - 1, free - 1)
    await coordinator.call("POST", "referral", f"/placements/{two['id']}/end", {"reason": "stopped"}, 200)
    assert await _free(coordinator, resource) == (free, free)
