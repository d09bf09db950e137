"""Who may see and do what, endpoint by endpoint and principal by principal (zero leaks, every
refusal on record)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.local.stack import Stack
from tests import access_world
from tests.access_matrix import ENDPOINTS, Endpoint
from tests.access_world import KINDS, World
from tests.helpers import bearer


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    async with httpx.AsyncClient(timeout=10) as http:
        return await access_world.build(stack, http)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
async def test_access_matrix(endpoint: Endpoint, kind: str, world: World,
                             http: httpx.AsyncClient) -> None:
    prepared = await endpoint.prepare(world, http, kind) if endpoint.prepare else None
    target = prepared if endpoint.obj == "prepared" else world.ids[endpoint.obj]
    url = world.stack.url(endpoint.service) + endpoint.path.format(**{**world.ids, "id": target})
    body = endpoint.body(world, kind, prepared) if endpoint.body else None
    sender = endpoint.sent_by or kind
    started = datetime.now(UTC)
    response = await http.request(endpoint.method, url, headers=world.headers[sender], json=body)
    assert response.status_code == endpoint.expected(kind), response.text
    if response.is_success:
        for name in endpoint.hidden.get(kind, frozenset()):
            assert _find(response.json(), name) in (None, [], {}), f"{name} leaked to {kind}"
        return
    assert response.headers["content-type"] == "application/problem+json"
    for secret in world.secrets:
        assert secret not in response.text
    for name in endpoint.secret_ids:
        assert (world.ids[name] in response.text) == (kind in endpoint.reveals_to), response.text
    if response.status_code == 403:  # every refusal is on record, whoever decided it
        assert await _refusal_recorded(world, http, endpoint.service, sender, started), \
            f"no audit record of refusing {sender}"


async def _refusal_recorded(w: World, http: httpx.AsyncClient, service: str, kind: str,
                            since: datetime) -> bool:
    r = await http.get(w.stack.url(service) + "/audit", headers=bearer(w.stack.token("auditor-1")),
                       params={"user_id": w.users[kind], "outcome": "denied", "since": since.isoformat()})
    assert r.status_code == 200, r.text
    return any(row["agency"] == w.agencies[kind] for row in r.json())


def _find(body: Any, name: str) -> Any:
    if isinstance(body, dict):
        return body.get(name)
    return None


async def test_the_holder_sees_protected_fields(world: World, http: httpx.AsyncClient) -> None:
    r = await http.get(world.stack.url("intake") + f"/consultations/{world.ids['consultation']}",
                       headers=world.headers["same_agency"])
    assert r.json()["health_notes"] == access_world.HEALTH
    assert r.json()["main_complaint"] == access_world.COMPLAINT


async def test_the_receiver_keeps_its_copy_marked_as_such(world: World,
                                                          http: httpx.AsyncClient) -> None:
    r = await http.get(world.stack.url("intake")
                       + f"/consultations/{world.ids['handed']}/handed-over-copy",
                       headers=world.headers["withdrawn_consent"])
    copy = r.json()
    assert copy["handed_over_copy"] is True and copy["to_office"] == world.agencies["withdrawn_consent"]
    assert copy["consent_ids"] == [world.ids["consent_withdrawn_consent"]]
    assert copy["handed_over_at"] and copy["disclosed"]["consultation"]["main_complaint"] \
        == access_world.COMPLAINT
    assert copy["disclosed"]["consultation"]["health_notes"] is None  # the consent named no health


async def test_meeting_notes_are_for_members_only(world: World, http: httpx.AsyncClient) -> None:
    r = await http.get(world.stack.url("meetings") + f"/meetings/{world.ids['meeting']}",
                       headers=world.headers["meeting_member"])
    assert r.json()["agenda"][0]["notes"] == "支援会議資料: 同意なし事例"
