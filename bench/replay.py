"""Rebuilding a view from its topic: referral's consent view, from intake.events at offset zero.

`BENCH_REPLAY_EVENTS` (10,000) ConsentGranted events are published on intake.events (as intake
publishes them: its credentials, its envelope) and referral applies them live. Then referral is
stopped, its consumer group's offsets are reset to zero and the view is dropped (the consent view
and referral's inbox claims: without those every event would be a duplicate), and referral is
started again. Replay rate: events applied per second from the first consent back in the view to
the last (the service's start-up apart, reported on its own). The baseline, in the same run on
the same topic: a plain aiokafka consumer over the same SASL_SSL listener reading it from offset
zero to the end.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.envelope import Envelope
from contracts.events.intake import ConsentGranted
from contracts.registry import source, spec_for
from infra.local.catalog import MUNICIPALITY_CODE
from infra.local.databases import owner_dsn, service_dsn
from infra.local.kafka_admin import started_admin
from infra.local.stack import Stack

from .harness import CpuMeter, Figures, StackFactory, note

TOPIC = "intake.events"
SERVICE = "referral"
BASELINES = {"replay_events_per_s": "baseline_events_per_s",
             "live_events_per_s": "baseline_events_per_s"}
POLL_SECONDS = 0.05


def granted() -> tuple[ConsentGranted, list[tuple[str, bytes]]]:
    event = ConsentGranted(consent_id=uuid.uuid4(), person_id=uuid.uuid4(), agencies=("city",),
                           purposes=("support",), valid_from=datetime.now(UTC))
    spec = spec_for(event)
    headers = Envelope(id=uuid.uuid4(), type=spec.ce_type, source=source("intake"),
                       time=datetime.now(UTC), subject=spec.key(event), dataschema=spec.dataschema,
                       sensitivity=spec.sensitivity, municipality=MUNICIPALITY_CODE).headers()
    return event, headers


async def publish(stack: Stack, count: int) -> None:
    producer = AIOKafkaProducer(**stack.kafka.client("intake"), acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        sends = []
        for _ in range(count):
            event, headers = granted()
            sends.append(await producer.send(TOPIC, event.model_dump_json().encode(),
                                             key=str(event.person_id).encode(), headers=headers))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def view_filled(stack: Stack, count: int, timeout: float) -> tuple[float, float]:
    """(when the first consent was seen in the view, when the count-th was), perf_counter s."""
    conn = await asyncpg.connect(service_dsn(stack.postgres_port, SERVICE))
    first = 0.0
    deadline = time.perf_counter() + timeout
    try:
        while time.perf_counter() < deadline:
            asked = time.perf_counter()
            rows = await conn.fetchval("SELECT count(*) FROM consent_view")
            if rows and not first:
                first = asked
            if rows >= count:
                return first, asked
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await conn.close()
    raise RuntimeError(f"the consent view did not reach {count} rows within {timeout:.0f} s")


async def _partitions(stack: Stack) -> list[TopicPartition]:
    admin = await started_admin(stack.kafka.client())
    try:
        [topic] = await admin.describe_topics([TOPIC])
    finally:
        await admin.close()
    return [TopicPartition(TOPIC, p["partition"]) for p in topic["partitions"]]


async def reset(stack: Stack) -> None:
    """The service stopped: its group back to offset zero, its view and inbox claims dropped."""
    consumer = AIOKafkaConsumer(**stack.kafka.client(), group_id=SERVICE,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(stack)
        consumer.assign(partitions)
        await consumer.commit({tp: 0 for tp in partitions})
    finally:
        await consumer.stop()
    conn = await asyncpg.connect(owner_dsn(stack.postgres_port, SERVICE))
    try:
        await conn.execute("TRUNCATE consent_view")
        await conn.execute("DELETE FROM inbox WHERE consumer = $1 AND topic = $2", SERVICE, TOPIC)
    finally:
        await conn.close()


async def raw_consume(stack: Stack, count: int) -> float:
    """Seconds a plain consumer takes to read `count` records of the topic from offset zero."""
    consumer = AIOKafkaConsumer(**stack.kafka.client(), enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    try:
        partitions = await _partitions(stack)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started, seen = time.perf_counter(), 0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def run(stack_factory: StackFactory) -> Figures:
    count = int(os.environ.get("BENCH_REPLAY_EVENTS", "10000"))
    async with stack_factory(SERVICE) as stack:
        started = time.perf_counter()
        await publish(stack, count)
        published = time.perf_counter()
        note(f"replay: {count} published in {published - started:.1f} s; referral applies them live")
        first, last = await view_filled(stack, count, 600)
        # From the first publish: a consumer faster than the publisher is done just after it.
        live = count / (last - started)
        note(f"replay: applied live at {live:.0f}/s")
        await asyncio.to_thread(stack.stop_service, SERVICE)
        await reset(stack)
        note("replay: referral stopped, group reset to zero, view dropped; starting it again")
        restarted = time.perf_counter()
        await asyncio.to_thread(stack.start_service, SERVICE)
        meter = CpuMeter(stack, (SERVICE,))
        before = meter.sample()
        first, last = await view_filled(stack, count, 600)
        cpu = meter.per_item(before, meter.sample(), count)
        baseline = await raw_consume(stack, count)
    replay = (count - 1) / (last - first) if last > first else float("nan")
    return {
        "events": count,
        "replay_events_per_s": round(replay, 1),
        "replay_seconds": round(last - first, 2),
        "replay_start_seconds": round(first - restarted, 2),
        "live_events_per_s": round(live, 1),
        "baseline_events_per_s": round(count / baseline, 1),
        "cpu_ms_per_event_referral": cpu[SERVICE],
        "cpu_ms_per_event_postgres": cpu["postgres"],
    }
