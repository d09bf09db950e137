"""Beyond the pool: many concurrent authorised reads all complete (none waits for a second
connection), overload answers 503 with Retry-After rather than hanging, and /healthz fails
when no request can get a connection any more."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from infra.local import databases
from infra.local.stack import Stack
from kit.settings import ServiceSettings
from tests import access_world
from tests.access_matrix import ENDPOINTS
from tests.access_world import World
from tests.helpers import bearer, enlist, eventually

CONCURRENCY = 4 * ServiceSettings(service="any", database_url="postgresql://unused").pool_max


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    async with httpx.AsyncClient(timeout=10) as http:
        return await access_world.build(stack, http)


def _reads(w: World) -> list[tuple[str, str, dict[str, str]]]:
    """(service, path, headers) of every read endpoint, each by someone who may read it."""
    reader, holder = w.headers["same_agency"], w.headers["holding_agency"]
    return [
        ("intake", f"/consultations/{w.ids['consultation']}", reader),
        ("intake", f"/persons/{w.ids['person']}", reader),
        ("intake", f"/persons/{w.ids['person']}/consents", reader),
        ("intake", f"/households/{w.ids['household']}", reader),
        ("referral", f"/referrals/{w.ids['referral']}", holder),
        ("referral", f"/referrals?agency={w.agencies['holding_agency']}", holder),
        ("referral", "/referrals?agency=div-kaigo&sent=true", reader),
        ("meetings", f"/meetings/{w.ids['meeting']}", w.headers["meeting_member"]),
        ("meetings", f"/meetings/{w.ids['meeting']}/decisions", w.headers["meeting_member"]),
        ("meetings", f"/meetings/{w.ids['meeting']}/materials", w.headers["meeting_member"]),
        ("meetings", f"/agenda-items/{w.ids['item']}/materials", w.headers["meeting_member"]),
        ("notifications", f"/inbox/{w.agencies['holding_agency']}", holder),
        ("notifications", "/me/inbox", holder),
        ("notifications", "/webhooks/deliveries", w.headers["operator"]),
        ("referral", "/operators/dead-letters", w.headers["operator"]),
        ("intake", "/operators/outbox/parked", w.headers["operator"]),
        *((service, "/audit?limit=5", w.headers["auditor"])
          for service in ("intake", "referral", "meetings", "notifications", "plans", "outreach")),
    ]


# Who reads each of the matrix's reads here: never break-glass (each would be an alert); the
# auditors for the audit trail's export.
READERS_FIRST = ("same_agency", "chair", "meeting_member", "partner", "auditor")


async def _matrix_reads(w: World, http: httpx.AsyncClient, *services: str
                        ) -> list[tuple[str, str, dict[str, str]]]:
    """(service, path, headers) of every read the access matrix lists for these services, its
    object prepared once, by the first kind of READERS_FIRST the matrix lets read it."""
    reads = []
    for e in ENDPOINTS:
        if e.service in services and e.method == "GET" and e.ok == 200 and e.permitted:
            kind = next(k for k in READERS_FIRST if k in e.permitted)
            prepared = await e.prepare(w, http, kind) if e.prepare else None
            target = prepared if e.obj == "prepared" else w.ids[e.obj]
            reads.append((e.service, e.path.format(id=target), w.headers[kind]))
    return reads


async def test_four_times_the_pool_of_concurrent_reads_all_complete(world: World,
                                                                    stack: Stack) -> None:
    async def burst(url: str, headers: list[dict[str, str]], **params: str) -> list[int]:
        # A client per burst: no keep-alive connection left idle long enough for the server to
        # close it under our feet.
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=None)) as c:
            answers = await asyncio.gather(*(c.get(url, headers=h, params=params or None)
                                             for h in headers))
        return [r.status_code for r in answers]

    async with httpx.AsyncClient(timeout=10) as http:
        matrix_reads = await _matrix_reads(world, http, "plans", "outreach")
    assert {s for s, _, _ in matrix_reads} == {"plans", "outreach"}
    for service, path, headers in [*_reads(world), *matrix_reads]:
        # 40 reads on a pool of 10 take well under the acquire timeout: none is shed.
        assert await burst(stack.url(service) + path, [headers] * CONCURRENCY) == [200] * CONCURRENCY, path
    # One user each (searches are rate-limited per user), each staffed at the window they name.
    names = [f"searcher-{world.tag}-{i}" for i in range(CONCURRENCY)]
    enlist(stack, {name: ["div-kaigo"] for name in names})
    searchers = [bearer(stack.token("w-kaigo", sub=name)) for name in names]
    assert await burst(stack.url("intake") + "/persons/candidates", searchers, family_kana="フッサ",
                       given_kana="ハナコ", birth_date="1980-04-01") == [200] * CONCURRENCY
    async with httpx.AsyncClient(timeout=10) as http:
        for service in ("intake", "referral", "meetings", "notifications", "plans", "outreach"):
            assert (await http.get(stack.url(service) + "/readyz")).status_code == 200
            assert (await http.get(stack.url(service) + "/healthz")).status_code == 200


async def test_a_starved_pool_sheds_with_503_and_fails_healthz(world: World, stack: Stack) -> None:
    """Every connection of meetings' small pool held by a read waiting for its audit record,
    which waits for a lock nobody releases (on the audit trail's table): later reads are refused with
    503 + Retry-After within the acquire timeout, /healthz fails; the lock released, everything
    completes and /healthz recovers."""
    stack.stop_service("meetings")
    stack.start_service("meetings", env={"MEETINGS_POOL_MAX": "2",
                                         "MEETINGS_POOL_ACQUIRE_TIMEOUT_SECONDS": "1",
                                         "MEETINGS_POOL_STARVED_AFTER_SECONDS": "2"})
    url = stack.url("meetings")
    read = url + f"/meetings/{world.ids['meeting']}"
    headers = world.headers["meeting_member"]
    lock = await asyncpg.connect(databases.owner_dsn(stack.postgres_port, "meetings"))
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            # SHARE mode: reads of the trail go on, no record can be inserted until COMMIT.
            await lock.execute("BEGIN; LOCK TABLE audit_events IN SHARE MODE")
            stuck = [asyncio.create_task(http.get(read, headers=headers)) for _ in range(2)]

            async def shed() -> httpx.Response | None:
                # A read that got a connection sticks too (its client gives up; it holds on).
                try:
                    answer = await http.get(read, headers=headers, timeout=3)
                except httpx.TimeoutException:
                    return None
                return answer if answer.status_code == 503 else None
            refused = await eventually(shed, timeout=20, what="a read refused on the stuck pool")
            assert refused.headers["retry-after"], refused.text
            assert refused.headers["content-type"] == "application/problem+json"

            async def unhealthy() -> bool:
                await http.get(read, headers=headers)  # keeps timing out on the starved pool
                return (await http.get(url + "/healthz")).status_code == 503
            await eventually(unhealthy, timeout=15, what="/healthz failing on a starved pool")
            await lock.execute("COMMIT")
            # None hangs: each is served, or shed if a probe came first to a connection.
            answers = await asyncio.gather(*stuck)
            assert all(r.status_code == 200 or "retry-after" in r.headers for r in answers), [
                r.text for r in answers]

            async def recovered() -> bool:
                answer = await http.get(read, headers=headers)
                return answer.status_code == 200 and (
                    await http.get(url + "/healthz")).status_code == 200
            await eventually(recovered, timeout=15, what="reads and /healthz back")
    finally:
        await lock.close()
        stack.stop_service("meetings")
        stack.start_service("meetings")
