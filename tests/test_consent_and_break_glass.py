"""Consent withdrawn at intake stops access everywhere within seconds; break-glass is allowed,
flagged and reported to the auditors."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from infra.local.stack import Stack
from tests import access_world
from tests.access_world import World
from tests.helpers import bearer, eventually


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    async with httpx.AsyncClient(timeout=10) as http:
        return await access_world.build(stack, http)


async def test_a_withdrawal_takes_effect_everywhere_within_seconds(world: World, stack: Stack,
                                                                    http: httpx.AsyncClient) -> None:
    reader = world.headers["expired_consent"]  # an agency whose consent had expired
    urls = [stack.url("intake") + f"/consultations/{world.ids['consultation']}",
            stack.url("referral") + f"/referrals/{world.ids['referral']}"]
    consent = (await http.post(stack.url("intake") + f"/persons/{world.ids['person']}/consents",
                               headers=world.headers["same_agency"],
                               json={"agencies": [world.agencies["expired_consent"]],
                                     "method": "oral"})).json()

    async def statuses() -> Any:
        return [(await http.get(u, headers=reader)).status_code for u in urls]

    await eventually(lambda: _is(statuses, [200, 200]), what="consent reached every service")
    withdrawn_at = time.monotonic()
    r = await http.post(stack.url("intake") + f"/consents/{consent['id']}/withdraw",
                        headers=world.headers["same_agency"], json={"reason": "本人の撤回"})
    assert r.json()["status"] == "withdrawn"
    assert (await http.get(urls[0], headers=reader)).status_code == 403  # intake: at once
    await eventually(lambda: _is(statuses, [403, 403]), timeout=10, what="withdrawal everywhere")
    print(f"withdrawal effective everywhere after {time.monotonic() - withdrawn_at:.2f}s")


async def _is(probe: Any, expected: list[int]) -> bool:
    return bool(await probe() == expected)


async def test_break_glass_is_allowed_flagged_and_reported(world: World, stack: Stack,
                                                            http: httpx.AsyncClient) -> None:
    stranger = world.headers["other_agency"]
    url = stack.url("intake") + f"/consultations/{world.ids['consultation']}"
    assert (await http.get(url, headers=stranger)).status_code == 403
    too_short = await http.get(url, headers={**stranger, "X-Break-Glass-Reason": quote("急ぎ")})
    assert too_short.status_code == 403
    reason = "本人が自殺をほのめかしており、至急状況の確認が必要"
    opened = await http.get(url, headers={**stranger, "X-Break-Glass-Reason": quote(reason)})
    assert opened.status_code == 200
    assert opened.json()["main_complaint"] == access_world.COMPLAINT

    auditor = bearer(stack.token("auditor-1"))
    trail = (await http.get(stack.url("intake") + "/audit", headers=auditor,
                            params={"outcome": "break-glass", "person_id": world.ids["person"]})).json()
    assert any(reason in r["reason"] and r["agency"] == world.agencies["other_agency"] for r in trail)

    async def reported() -> Any:
        items = (await http.get(stack.url("notifications") + "/inbox/audit", headers=auditor,
                                params={"limit": 200})).json()
        return [i for i in items if reason in i["body"]]

    [item] = await eventually(reported, what="auditors told")
    assert item["title"] == "緊急閲覧（ブレークグラス）が行われました"
    # only auditors read the auditors' inbox
    assert (await http.get(stack.url("notifications") + "/inbox/audit",
                           headers=stranger)).status_code == 403
