"""Webhook deliveries per second to a local receiver, beside a raw httpx POST loop.

notifications alone runs on its own ports (not the default bench ports). An operator registers
one subscriber: the sample receiver of infra/examples (signature checked on every request) on
loopback. BENCH_WEBHOOKS_COUNT (2000) deliveries are queued in notifications' database, as its
event handler queues them, and the clock runs until the database says every one is delivered
(claimed under a lease, signed, POSTed, settled with its attempt record, each in its own
transaction), at `webhook_concurrency` (16) requests in flight.

Baseline, same run and receiver: the same count of signed POSTs of the same body by one
httpx.AsyncClient at the same concurrency, nothing recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from infra.examples.webhook_receiver import Receiver
from infra.local.catalog import MUNICIPALITY_CODE
from infra.local.databases import service_dsn
from services.notifications.webhooks import signing

from .harness import Figures, StackFactory, note

COUNT = int(os.environ.get("BENCH_WEBHOOKS_COUNT", "2000"))
CONCURRENCY = 16
RECEIVER_PORT = 31700
PORTS = {"kafka_port": 41092, "kafka_controller_port": 41093, "kafka_plaintext_port": 41094,
         "postgres_port": 55441, "idp_port": 31009,
         "service_ports": {"notifications": 31006}}
BASELINES = {"webhook_deliveries_per_s": "raw_httpx_posts_per_s"}
BODY = json.dumps({"specversion": "1.0", "type": "jp.tsunagu.referral.referral_requested.v1",
                   "source": "/tsunagu/referral", "data": {"referral_id": str(uuid.uuid4())}}).encode()


_QUEUE = """
INSERT INTO webhook_deliveries (id, municipality, subscriber_id, event_id, event_type, body,
    next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'ReferralRequested', $5, $6, $6)
"""


async def _all_delivered(conn: asyncpg.Connection) -> None:
    pending = "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
    while await conn.fetchval(pending):  # noqa: ASYNC110 (another process's progress)
        await asyncio.sleep(0.05)


async def _raw(url: str, secret: str) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        async def one() -> None:
            async with gate:
                delivery = str(uuid.uuid4())
                r = await client.post(url, content=BODY, headers=signing.headers(
                    [secret], delivery, int(time.time()), BODY))
                r.raise_for_status()
        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(COUNT)))
        return COUNT / (time.monotonic() - started)


async def run(stack_factory: StackFactory) -> Figures:
    env = {"NOTIFICATIONS_WEBHOOK_ALLOW_LOOPBACK": "true", "NOTIFICATIONS_WEBHOOK_POLL_SECONDS": "0.05",
           "NOTIFICATIONS_WEBHOOK_CONCURRENCY": str(CONCURRENCY), "NOTIFICATIONS_WEBHOOK_BATCH": "200"}
    async with stack_factory("notifications", extra_env=env, ports=PORTS) as stack:
        url = f"http://127.0.0.1:{RECEIVER_PORT}/hook"
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(stack.url("notifications") + "/webhooks/subscribers",
                                headers={"authorization": f"Bearer {stack.token('ops-1')}"},
                                json={"url": url, "event_types": ["ReferralRequested"]})
            r.raise_for_status()
        sid, secret = uuid.UUID(r.json()["id"]), r.json()["secret"]
        receiver = Receiver(RECEIVER_PORT, secret).start()
        try:
            raw = await _raw(url, secret)
            conn = await asyncpg.connect(service_dsn(stack.postgres_port, "notifications"))
            try:
                at = datetime.now(UTC)
                started = time.monotonic()
                await conn.executemany(_QUEUE, [(uuid.uuid4(), MUNICIPALITY_CODE, sid, uuid.uuid4(),
                                                 BODY, at) for _ in range(COUNT)])
                await _all_delivered(conn)
                took = time.monotonic() - started
                attempts = await conn.fetchval("SELECT count(*) FROM webhook_attempts")
            finally:
                await conn.close()
        finally:
            receiver.stop()
        note(f"{COUNT} deliveries in {took:.1f} s; receiver rejected {receiver.rejected}")
        return {"count": COUNT, "concurrency": CONCURRENCY,
                "webhook_deliveries_per_s": round(COUNT / took, 1),
                "raw_httpx_posts_per_s": round(raw, 1), "attempts": attempts,
                "receiver_rejected": receiver.rejected}
