"""Every access is on record; the record is append-only and tamper-evident."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from infra.local import databases
from infra.local.stack import Stack
from tests import access_world
from tests.access_world import World
from tests.helpers import bearer, eventually


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    async with httpx.AsyncClient(timeout=10) as http:
        return await access_world.build(stack, http)


async def _trail(http: httpx.AsyncClient, stack: Stack, **params: str) -> list[dict[str, Any]]:
    r = await http.get(stack.url("intake") + "/audit", params={**params, "limit": "1000"},
                       headers=bearer(stack.token("auditor-1")))
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def test_n_reads_make_exactly_n_audit_records(world: World, stack: Stack,
                                                    http: httpx.AsyncClient) -> None:
    since = datetime.now(UTC).isoformat()  # the world's users also read while it was built
    url = stack.url("intake") + f"/consultations/{world.ids['consultation']}"
    for _ in range(5):
        assert (await http.get(url, headers=world.headers["same_agency"])).status_code == 200
    for _ in range(3):
        assert (await http.get(url, headers=world.headers["other_agency"])).status_code == 403
    rows = [*await _trail(http, stack, user_id=world.users["same_agency"], since=since),
            *await _trail(http, stack, user_id=world.users["other_agency"], since=since)]
    assert [r["outcome"] for r in rows] == ["permitted"] * 5 + ["denied"] * 3
    for r in rows:
        assert r["object_type"] == "consultation" and r["object_id"] == world.ids["consultation"]
        assert r["person_ids"] == [world.ids["person"]] and r["action"] == "read"
        assert r["service"] == "intake" and r["purpose"] == "support" and r["reason"]


async def test_auditor_queries_by_person_and_period_and_exports(world: World, stack: Stack,
                                                                 http: httpx.AsyncClient) -> None:
    by_person = await _trail(http, stack, person_id=world.ids["person"])
    assert {r["object_type"] for r in by_person} >= {"person", "consultation"}
    future = await _trail(http, stack, since="2999-01-01T00:00:00Z")
    assert future == []
    export = await http.get(stack.url("intake") + "/audit/export",
                            params={"person_id": world.ids["person"]},
                            headers=bearer(stack.token("auditor-1")))
    assert export.headers["content-type"] == "application/x-ndjson"
    assert len(export.text.strip().splitlines()) >= len(by_person)
    # the export itself is on record
    mine = await _trail(http, stack, user_id="auditor-1")
    assert any(r["action"] == "export" and r["object_type"] == "audit_trail" for r in mine)


async def test_only_auditors_read_the_trail(stack: Stack, http: httpx.AsyncClient) -> None:
    for user in ("w-kaigo", "c-desk", "ops-1", "partner-minsei"):
        r = await http.get(stack.url("intake") + "/audit", headers=bearer(stack.token(user)))
        assert r.status_code == 403, user


async def test_the_service_role_cannot_change_the_trail(world: World, stack: Stack) -> None:
    app = await asyncpg.connect(databases.service_dsn(stack.postgres_port, "intake"))
    owner = await asyncpg.connect(databases.owner_dsn(stack.postgres_port, "intake"))
    try:
        for sql in ("UPDATE audit_events SET reason = 'nothing happened'",
                    "DELETE FROM audit_events", "TRUNCATE audit_events"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(sql)
            with pytest.raises(asyncpg.RaiseError, match="append-only"):  # the owner: the trigger
                await owner.execute(sql)
        assert await app.fetchval("SELECT count(*) FROM audit_events") > 0
    finally:
        await app.close()
        await owner.close()


def _verify(stack: Stack) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INTAKE_DATABASE_URL": databases.service_dsn(stack.postgres_port, "intake")}
    return subprocess.run([sys.executable, "-m", "kit.audit", "intake"], env=env, text=True,
                          capture_output=True, timeout=60)


async def _chained(http: httpx.AsyncClient, stack: Stack) -> bool:
    """Intake's /readyz names no committed audit record left unchained (its chainer caught up)."""
    ready = (await http.get(stack.url("intake") + "/readyz")).json()
    return bool(ready["audit_unchained"]["count"] == 0)


async def test_the_services_chain_what_committed_and_operators_see_the_tail(
        world: World, stack: Stack, http: httpx.AsyncClient) -> None:
    """Each record is on the trail once its transaction commits; the running service chains it
    shortly after (its audit-chain job); until then /readyz, /metrics and the verifier name it
    as not chained yet, never as a break."""
    app = await asyncpg.connect(databases.service_dsn(stack.postgres_port, "intake"))
    try:
        url = stack.url("intake") + f"/consultations/{world.ids['consultation']}"
        # The chain held by this test's transaction: the chainer cannot take it, a tail stays.
        async with app.transaction():
            await app.execute("SELECT pg_advisory_xact_lock(hashtext('tsunagu.audit'))")
            assert (await http.get(url, headers=world.headers["same_agency"])).status_code == 200
            await eventually(lambda: _unchained_seen(http, stack), what="the tail on /readyz")
            tail = await asyncio.to_thread(_verify, stack)
            assert tail.returncode == 0 and "chain intact" in tail.stdout, tail.stdout
            assert "not chained yet" in tail.stdout
            metrics = (await http.get(stack.url("intake") + "/metrics")).text
            assert "audit_unchained_oldest_age_seconds" in metrics
        await eventually(lambda: _chained(http, stack), what="the tail chained")
        done = await asyncio.to_thread(_verify, stack)
        assert done.returncode == 0 and "not chained yet" not in done.stdout, done.stdout
    finally:
        await app.close()


async def _unchained_seen(http: httpx.AsyncClient, stack: Stack) -> bool:
    ready = (await http.get(stack.url("intake") + "/readyz")).json()
    return bool(ready["audit_unchained"]["count"] > 0)


async def test_the_chain_verifies_and_a_tampered_row_is_detected(world: World, stack: Stack,
                                                                 http: httpx.AsyncClient) -> None:
    await eventually(lambda: _chained(http, stack), what="the trail chained")
    intact = await asyncio.to_thread(_verify, stack)
    assert intact.returncode == 0 and "chain intact" in intact.stdout, intact.stdout + intact.stderr
    # Someone with the database superuser's power edits a record around every guard...
    su = await asyncpg.connect(stack.postgres.superuser_dsn("tsunagu_intake"))
    try:
        seq, reason, outcome = await su.fetchrow(
            "SELECT seq, reason, outcome FROM audit_events ORDER BY seq LIMIT 1")
        await su.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
        await su.execute("UPDATE audit_events SET outcome = 'permitted', reason = 'edited' "
                         "WHERE seq = $1", seq)
        tampered = await asyncio.to_thread(_verify, stack)
        assert tampered.returncode == 1 and f"BROKEN at seq {seq}" in tampered.stdout
    finally:  # ...and puts it back, so the rest of the session sees an intact chain
        await su.execute("UPDATE audit_events SET reason = $2, outcome = $3 WHERE seq = $1",
                         seq, reason, outcome)
        await su.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
        await su.close()
    assert (await asyncio.to_thread(_verify, stack)).returncode == 0


async def test_each_hand_over_to_another_agency_is_a_recorded_disclosure(
        world: World, stack: Stack, http: httpx.AsyncClient) -> None:
    rows = await _trail(http, stack, person_id=world.ids["person"])
    [disclosure] = [r for r in rows if r["action"] == "disclose"
                    and r["object_id"] == world.ids["consultation"]]
    assert world.agencies["holding_agency"] in disclosure["reason"]
    assert world.ids["consent_handover"] in disclosure["reason"]
