"""At-least-once delivery with idempotent effects, against the real broker and databases."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from infra.local import proc
from infra.local.stack import Stack
from infra.local.topics import declared
from tests.helpers import Connect, bearer, consultation, eventually

AGENCY = "konkyu"  # an office of the directory; a test's consultations are told apart by id


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


async def _all_through(db: Connect, posted: list[str], n: int, timeout: float
                       ) -> tuple[int, int, int]:
    async def probe() -> tuple[int, int, int] | None:
        counts = await _counts(db, posted)
        return counts if counts[2] >= n else None
    return await eventually(probe, timeout=timeout, what="every event")


async def _metric(http: httpx.AsyncClient, url: str, name: str) -> float:
    for line in (await http.get(url + "/metrics")).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rpartition(" ")[2])
    return 0.0


def _partitions(topic: str) -> list[TopicPartition]:
    count = {t["name"]: t["partitions"] for t in declared()}[topic]
    return [TopicPartition(topic, p) for p in range(count)]


async def _end_offsets(stack: Stack, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**stack.kafka.client())
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(_partitions(topic))
        return ends
    finally:
        await consumer.stop()


async def _rewind(stack: Stack, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit earlier offsets for a stopped consumer group: what follows is delivered again."""
    consumer = AIOKafkaConsumer(**stack.kafka.client(), group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))

        async def committed() -> bool:
            try:  # refused while the killed member's session has not yet expired
                await consumer.commit(offsets)
            except Exception:
                await asyncio.sleep(1)
                return False
            return True
        await eventually(committed, timeout=60, what="the group's offsets rewound")
    finally:
        await consumer.stop()


async def test_consumer_killed_mid_stream_misses_nothing_and_the_inbox_absorbs_redelivery(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    n, posted = 150, list[str]()
    start = await _end_offsets(stack, "intake.events")
    posting = asyncio.create_task(_post_many(http, stack, n, posted))

    async def some_processed() -> int:
        return (await _counts(db, posted))[0] >= 20

    await eventually(some_processed, what="referral consuming")
    assert stack.stop_service("referral", kill=True)  # SIGKILL: no chance to commit anything
    applied = (await _counts(db, posted))[0]
    await posting
    assert applied < n, "the consumer was not killed mid-stream"
    # Every event of this test is delivered again, those applied before the kill included.
    await _rewind(stack, "referral", start)
    stack.start_service("referral")

    assert await _all_through(db, posted, n, timeout=90) == (n, n, n)
    # The redelivered events met the inbox, which skipped them (not a unique constraint).
    duplicates = await _metric(http, stack.url("referral"), "inbox_duplicates_total")
    assert duplicates >= applied, (duplicates, applied)


async def _unpublished(db: Connect, posted: list[str]) -> int:
    intake = await db("intake")
    try:
        held: int = await intake.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL "
            "AND payload->>'consultation_id' = ANY($1::text[])", posted)
        return held
    finally:
        await intake.close()


async def test_kafka_killed_the_api_keeps_accepting_and_everything_arrives_once(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    n, posted = 100, list[str]()
    assert proc.stop(stack.kafka.pidfile, sig=signal.SIGKILL)  # no clean shutdown
    try:
        await _post_many(http, stack, n, posted)
        assert await _unpublished(db, posted) == n  # the outbox holds this test's events

        async def reported_down() -> dict[str, Any] | None:
            ready = await http.get(stack.url("intake") + "/readyz")
            body: dict[str, Any] = ready.json()
            return body if ready.status_code == 200 and body["broker"] == "unavailable" else None

        body = await eventually(reported_down, what="readiness reports the broker away, still ready")
        assert body["outbox"]["backlog"] >= n and body["outbox"]["oldest_age_seconds"] > 0
    finally:
        stack.kafka.start()
    assert await _all_through(db, posted, n, timeout=120) == (n, n, n)


async def test_database_restart_is_reported_as_the_database_and_nothing_is_lost(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    n, posted = 30, list[str]()
    await _post_many(http, stack, n, posted)
    stack.postgres.stop(mode="immediate")  # a crash: recovery at the next start
    readings: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            for service in ("intake", "referral"):
                readings.append((await http.get(stack.url(service) + "/readyz")).json())
            await asyncio.sleep(0.2)
    finally:
        stack.postgres.start()
    assert any(r["database"].startswith("unavailable") for r in readings)
    assert all(r["broker"] != "unavailable" for r in readings), readings  # the broker was fine
    assert await _all_through(db, posted, n, timeout=90) == (n, n, n)
