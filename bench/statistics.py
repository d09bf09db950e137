"""Events per second counted into statistics' faust tables, beside a raw aiokafka consume of the
same topics in the same run.

Kafka, PostgreSQL and statistics alone, on ports of their own. BENCH_STATISTICS_CONSULTATIONS
(3000) consultations a month for two months of generated activity (tests/activity.py: with their
referrals, answers, meetings and decisions; about 2.6 records a consultation) are published first,
each by its owning service's principal. Then statistics starts and the clock runs from its
start until its /metrics says every record was taken in (at least once: each event's whole
effect one table entry under its CloudEvents id, so one changelog record, then the offsets),
from the first record counted to the last (its start-up is reported apart).

Baseline, same run and records: one AIOKafkaConsumer (SASL/SCRAM over TLS, read_committed) of the
same topics from offset zero, reading every record and parsing its CloudEvents headers, nothing
counted or committed.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from contracts.envelope import Envelope
from contracts.registry import topics
from tests.activity import month_of_activity, publish

from .harness import Figures, StackFactory, note

CONSULTATIONS = int(os.environ.get("BENCH_STATISTICS_CONSULTATIONS", "3000"))
PORTS = {"kafka_port": 42792, "kafka_controller_port": 42793, "kafka_plaintext_port": 42794,
         "postgres_port": 55477, "idp_port": 32709, "service_ports": {"statistics": 32707}}
BASELINES = {"statistics_events_per_s": "raw_aiokafka_events_per_s"}


async def _counted(http: httpx.AsyncClient, url: str) -> int:
    try:
        text = (await http.get(url + "/metrics")).text
    except httpx.TransportError:
        return 0  # not listening yet
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("statistics_events_counted_total{")))


async def _raw(client: dict[str, Any], total: int) -> float:
    consumer = AIOKafkaConsumer(*topics(), **client, group_id=f"bench-{uuid.uuid4()}",
                                auto_offset_reset="earliest", isolation_level="read_committed",
                                enable_auto_commit=False)
    await consumer.start()
    seen, started = 0, time.monotonic()
    try:
        while seen < total:
            for records in (await consumer.getmany(timeout_ms=500, max_records=2000)).values():
                for r in records:
                    Envelope.from_headers(list(r.headers))
                seen += len(records)
        return seen / (time.monotonic() - started)
    finally:
        await consumer.stop()


async def run(stack_factory: StackFactory) -> Figures:
    months = [month_of_activity(2025, m, CONSULTATIONS, seed=m) for m in (6, 7)]
    records = [r for m in months for r in m.records]
    async with stack_factory(ports=PORTS) as stack:
        started = time.monotonic()
        await publish(stack.kafka.client, records)
        note(f"{len(records)} records published in {time.monotonic() - started:.1f} s")
        raw = await _raw(stack.kafka.client("admin"), len(records))
        started = time.monotonic()
        starting = asyncio.create_task(asyncio.to_thread(stack.start_service, "statistics"))
        url = stack.url("statistics")
        async with httpx.AsyncClient(timeout=10) as http:
            # From the first record counted to the last: start-up (group join, table recovery)
            # is reported apart.
            while not (first := await _counted(http, url)):  # noqa: ASYNC110 (another process)
                await asyncio.sleep(0.05)
            counting = time.monotonic()
            while await _counted(http, url) < len(records):  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            done = time.monotonic()
        await starting
    return {"records": len(records), "statistics_first_count_s": round(counting - started, 1),
            "statistics_events_per_s": round((len(records) - first) / (done - counting), 1),
            "raw_aiokafka_events_per_s": round(raw, 1)}
