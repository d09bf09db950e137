"""At-least-once delivery with idempotent effects, against the real broker and databases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import httpx

from infra.local.stack import Stack
from tests.helpers import bearer, consultation, eventually

Connect = Callable[[str], Awaitable[asyncpg.Connection]]


AGENCY = "konkyu"  # an office of the directory; the test's consultations are told apart by id


async def _counts(db: Connect, posted: list[str]) -> tuple[int, int, int]:
    """(referrals, distinct consultations referred, inbox items) for these consultations."""
    referral, notifications = await db("referral"), await db("notifications")
    try:
        rows = await referral.fetch("SELECT id, consultation_id FROM referrals WHERE "
                                    "consultation_id = ANY($1::uuid[])", posted)
        items = await notifications.fetchval(
            "SELECT count(*) FROM inbox_items WHERE recipient_id = $1 AND about_id = ANY($2::uuid[])",
            AGENCY, [r["id"] for r in rows])
        return len(rows), len({r["consultation_id"] for r in rows}), items
    finally:
        await referral.close()
        await notifications.close()


async def _post_many(http: httpx.AsyncClient, stack: Stack, n: int, posted: list[str]) -> None:
    """Post n consultations to AGENCY, appending each one's id to `posted` as it is accepted."""
    sem = asyncio.Semaphore(5)
    window = bearer(stack.token("w-kaigo"))

    async def one() -> None:
        async with sem:
            r = await http.post(stack.url("intake") + "/consultations", json=consultation(AGENCY),
                                headers=window)
            assert r.status_code == 201, r.text
            posted.append(r.json()["id"])

    await asyncio.gather(*(one() for _ in range(n)))


async def test_consumer_killed_mid_stream_misses_nothing_and_duplicates_nothing(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    n, posted = 150, list[str]()
    posting = asyncio.create_task(_post_many(http, stack, n, posted))

    async def some_processed() -> int:
        return (await _counts(db, posted))[0] >= 20

    await eventually(some_processed, what="referral consuming")
    assert stack.stop_service("referral", kill=True)  # SIGKILL: no chance to commit anything
    killed_at = (await _counts(db, posted))[0]
    await posting
    assert killed_at < n, "the consumer was not killed mid-stream"
    stack.start_service("referral")

    async def all_through() -> tuple[int, int, int] | None:
        counts = await _counts(db, posted)
        return counts if counts[2] >= n else None

    total, distinct, items = await eventually(all_through, timeout=60, what="every event")
    assert (total, distinct, items) == (n, n, n)


async def test_kafka_down_the_api_keeps_accepting_and_everything_arrives_once(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    n, posted = 20, list[str]()
    stack.kafka.stop()
    try:
        await _post_many(http, stack, n, posted)
        intake = await db("intake")
        try:
            held = await intake.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        finally:
            await intake.close()
        assert held >= n  # the outbox holds them while the broker is away
        async def reported_down() -> bool:
            ready = await http.get(stack.url("intake") + "/readyz")
            return ready.status_code == 200 and ready.json()["broker"] == "unavailable"

        await eventually(reported_down, what="readiness reports the broker away, still ready")
    finally:
        stack.kafka.start()

    async def all_through() -> tuple[int, int, int] | None:
        counts = await _counts(db, posted)
        return counts if counts[2] >= n else None

    assert await eventually(all_through, timeout=120, what="events after Kafka returns") == (n, n, n)
