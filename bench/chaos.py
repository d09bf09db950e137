"""The fault campaign (`make chaos`): consultations at a steady rate through intake → referral →
notifications while random faults hit the broker, the database and the services; then a 60 s
broker outage; then a drain and a count of every effect.

The stack is its own, on ports nothing else uses, with two intake replicas (one database), so a
frozen intake's relay is fenced and the other's takes over. Each consultation goes to a recipient
of its own and carries an Idempotency-Key: a POST that saw an error is repeated with the same key
(on the other replica) until it is answered, as a careful client would. At the end:

- accepted: answered 201 (or 409: applied, answer lost); refused: given up on, nothing promised
- lost: accepted, never in the recipient's inbox; duplicated: a second consultation, referral or
  inbox item for one recipient (the bar for both is zero)
- catch-up after each fault: from the fault's end until everything accepted by then is delivered
- the drain after a 60 s broker outage (SIGKILL, and SIGSTOP in campaigns of 10 min or more)

    make chaos                     # about 3 minutes
    CHAOS_SECONDS=1200 make chaos  # the 20-minute campaign; CHAOS_RATE (4/s), CHAOS_SEED
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from infra.local import proc
from infra.local.catalog import ROOT
from infra.local.databases import service_dsn
from infra.local.stack import Stack

from .harness import Figures, bench_stack, directory_with, note, table, write_results
from .journey import InboxWatcher, consultation

# Below the kernel's ephemeral range (32768-60999): Kafka is restarted again and again here, and
# a listening port in that range can be taken meanwhile by some outgoing connection's local end
# (seen: "failed to bind to 127.0.0.1:49092: Address already in use").
PORTS: dict[str, Any] = {"kafka_port": 31092, "kafka_controller_port": 31093,
                         "postgres_port": 31432, "idp_port": 31009,
                         "service_ports": {"intake": 31001, "referral": 31002,
                                           "notifications": 31006}}
REPLICA = "intake-b"  # a second intake on REPLICA_PORT: the standby of the first one's relay
REPLICA_PORT = 31011
ENV = {"TSUNAGU_RELAY_POLL_SECONDS": "0.5", "TSUNAGU_RELAY_SEND_TIMEOUT_SECONDS": "5",
       "TSUNAGU_RELAY_FENCE_SECONDS": "10", "TSUNAGU_LOG_LEVEL": "WARNING"}
OUTAGE_SECONDS = 60.0
GIVE_UP_SECONDS = 180.0  # a client stops repeating a POST after this long: refused
CATCH_UP_CAP = 120.0
DRAIN_CAP = 300.0
KINDS = ("kafka_sigkill", "kafka_sigstop", "service_sigkill", "service_sigstop",
         "relay_killed_mid_batch", "postgres_fast", "postgres_immediate", "postgres_read_only")


class Campaign:
    def __init__(self, stack: Stack, rate: float, seconds: float, seed: int, run_id: str,
                 capacity: int) -> None:
        self.stack, self.rate, self.seconds = stack, rate, seconds
        self.rng = random.Random(seed)
        self.run_id = run_id
        self.capacity = capacity  # recipients the directory holds: one per consultation
        self.watcher = InboxWatcher(service_dsn(stack.postgres_port, "notifications"), 0.2)
        self.accepted: dict[str, float] = {}
        self.refused: set[str] = set()
        self.counts: Counter[str] = Counter()  # retries, replays, unanswered
        self.faults: list[dict[str, Any]] = []
        self.drains: dict[str, float] = {}
        self._deck: list[str] = []  # every kind once, shuffled, then again: even a short run sees all
        self._sending = True
        self.token = stack.token("w-kaigo", ttl=4 * 3600)

    # -- processes ------------------------------------------------------------------------
    def _pidfile(self, name: str) -> Path:
        return self.stack.home / "pids" / f"{name}.pid"

    def _start(self, name: str) -> None:
        if name != REPLICA:
            self.stack.start_service(name, timeout=120)
            return
        if proc.pid_alive(self._pidfile(name)) and proc.port_open(REPLICA_PORT):
            return
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "services.intake.app:create_app",
               "--host", "127.0.0.1", "--port", str(REPLICA_PORT), "--no-access-log",
               "--log-level", "warning"]
        proc.spawn(cmd, self.stack.home / "logs" / f"{name}.log", self._pidfile(name),
                   env=self.stack.service_env("intake"), cwd=ROOT)
        proc.wait_port(REPLICA_PORT, 120, REPLICA)

    def _start_kafka(self) -> None:
        """Kafka after a SIGKILL recovers its log first: on 2 busy cores that can take minutes."""
        for attempt in (1, 2):
            try:
                self.stack.kafka.start(timeout=180)
                return
            except RuntimeError as exc:
                note(f"Kafka not back (attempt {attempt}): {str(exc)[-300:]}")
                self._kill("kafka")
        raise RuntimeError("Kafka did not come back")

    def _signal(self, name: str, sig: int) -> None:
        pidfile = self.stack.kafka.pidfile if name == "kafka" else self._pidfile(name)
        pid = proc.pid_alive(pidfile)
        if pid is not None:
            os.kill(pid, sig)

    def _kill(self, name: str) -> None:
        pidfile = self.stack.kafka.pidfile if name == "kafka" else self._pidfile(name)
        self._signal(name, signal.SIGCONT)  # a stopped process would not die before it runs
        proc.stop(pidfile, sig=signal.SIGKILL)

    async def _superuser(self, sql: str) -> None:
        conn = await asyncpg.connect(self.stack.postgres.superuser_dsn(), timeout=10)
        try:
            await conn.execute("SET default_transaction_read_only = off")
            await conn.execute(sql)
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    # -- load -----------------------------------------------------------------------------
    async def _consultation(self, client: httpx.AsyncClient, i: int) -> None:
        agency = f"chaos-{self.run_id}-{i}"
        self.watcher.expect(agency)
        key, urls = str(uuid.uuid4()), (self.stack.url("intake"), f"http://127.0.0.1:{REPLICA_PORT}")
        deadline, backoff, attempt = time.perf_counter() + GIVE_UP_SECONDS, 0.5, 0
        while time.perf_counter() < deadline:
            headers = {"authorization": f"Bearer {self.token}", "Idempotency-Key": key}
            try:
                r = await client.post(urls[attempt % 2] + "/consultations", json=consultation(agency),
                                      headers=headers)
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            attempt += 1
            if status in (201, 409):  # 409: applied, its answer lost; either way it stands
                self.accepted[agency] = time.perf_counter()
                self.counts["replayed"] += r.headers.get("idempotent-replayed") == "true"
                self.counts["unanswered_409"] += status == 409
                return
            if 400 <= status < 500 and status not in (408, 429):
                break
            self.counts["retries"] += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 8.0)
        self.refused.add(agency)

    async def _load(self) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        tasks: list[asyncio.Task[None]] = []
        # Longer than the server's wait for a first answer (idempotency_wait_seconds), so a
        # repeat hears the 409 rather than timing out itself.
        async with httpx.AsyncClient(timeout=20, limits=limits) as client:
            start, i = time.perf_counter(), 0
            while self._sending and i < self.capacity:
                delay = start + i / self.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._consultation(client, i)))
                i += 1
            await asyncio.gather(*tasks)

    # -- faults ---------------------------------------------------------------------------
    async def _inject(self, kind: str) -> dict[str, Any]:
        rng, record = self.rng, dict[str, Any](kind=kind)
        if kind == "kafka_sigkill":
            await asyncio.to_thread(self._kill, "kafka")
            await asyncio.sleep(rng.uniform(2, 8))
            await asyncio.to_thread(self._start_kafka)
        elif kind in ("kafka_sigstop", "service_sigstop"):
            name = "kafka" if kind == "kafka_sigstop" else rng.choice(self._services())
            record["target"] = name
            self._signal(name, signal.SIGSTOP)
            await asyncio.sleep(rng.uniform(5, 15))
            self._signal(name, signal.SIGCONT)
        elif kind in ("service_sigkill", "relay_killed_mid_batch"):
            if kind == "service_sigkill":
                name = rng.choice(self._services())
            else:  # while its outbox holds rows: the relay is in (or about to start) a batch
                name = rng.choice(("intake", "referral"))
                record["backlog_seen"] = await self._backlog_seen(name)
            record["target"] = name
            await asyncio.to_thread(self._kill, name)
            await asyncio.sleep(rng.uniform(1, 4))
            await asyncio.to_thread(self._start, name)
        elif kind in ("postgres_fast", "postgres_immediate"):
            await asyncio.to_thread(self.stack.postgres.stop, kind.split("_")[1])
            await asyncio.sleep(rng.uniform(2, 6))
            await asyncio.to_thread(self.stack.postgres.start)
        elif kind == "postgres_read_only":  # a failover to a standby not yet promoted
            await self._superuser("ALTER SYSTEM SET default_transaction_read_only = on")
            await asyncio.sleep(rng.uniform(5, 12))
            await self._superuser("ALTER SYSTEM RESET default_transaction_read_only")
        return record

    def _services(self) -> tuple[str, ...]:
        return (*PORTS["service_ports"], REPLICA)

    async def _backlog_seen(self, service: str) -> bool:
        conn = await asyncpg.connect(service_dsn(self.stack.postgres_port, service), timeout=5)
        try:
            deadline = time.perf_counter() + 5
            while time.perf_counter() < deadline:
                if await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL "
                                       "AND parked_at IS NULL"):
                    return True
                await asyncio.sleep(0.02)
            return False
        finally:
            await conn.close()

    async def _caught_up(self, since: float, cap: float) -> float:
        """Seconds from `since` until everything accepted by then is in an inbox (cap if never)."""
        due = {a for a, t in self.accepted.items() if t <= since}
        await self.watcher.wait_for(due, max(since + cap - time.perf_counter(), 0))
        missing = due - self.watcher.seen.keys()
        return cap if missing else max(time.perf_counter() - since, 0.0)

    async def _random_faults(self, until: float) -> None:
        while time.perf_counter() < until:
            await asyncio.sleep(self.rng.uniform(1, 5))
            if time.perf_counter() >= until:
                break
            if not self._deck:
                self._deck = self.rng.sample(KINDS, len(KINDS))
            kind = self._deck.pop()
            started = time.perf_counter()
            record = await self._inject(kind)
            healed = time.perf_counter()
            record["seconds"] = round(healed - started, 1)
            record["catch_up_s"] = round(await self._caught_up(healed, CATCH_UP_CAP), 1)
            self.faults.append(record)
            note(f"fault {len(self.faults)}: {record}; accepted {len(self.accepted)}, "
                 f"delivered {len(self.watcher.seen)}")

    async def _broker_outage(self, how: str) -> None:
        note(f"broker outage of {OUTAGE_SECONDS:.0f} s ({how})")
        if how == "sigkill":
            await asyncio.to_thread(self._kill, "kafka")
        else:
            self._signal("kafka", signal.SIGSTOP)
        await asyncio.sleep(OUTAGE_SECONDS)
        if how == "sigkill":
            await asyncio.to_thread(self._start_kafka)
        else:
            self._signal("kafka", signal.SIGCONT)
        back = time.perf_counter()
        self.drains[how] = round(await self._caught_up(back, DRAIN_CAP), 1)
        note(f"drained {self.drains[how]} s after the broker came back")

    # -- the run --------------------------------------------------------------------------
    async def run(self) -> Figures:
        await asyncio.to_thread(self._start, REPLICA)
        outages = ["sigkill", "sigstop"] if self.seconds >= 600 else ["sigkill"]
        polling = asyncio.create_task(self.watcher.run())
        loading = asyncio.create_task(self._load())
        started = time.perf_counter()
        try:
            await self._random_faults(started + self.seconds - len(outages) * OUTAGE_SECONDS)
            for how in outages:
                await self._broker_outage(how)
            self._sending = False
            await loading
            for name in ("kafka", *self._services()):  # nothing left frozen
                self._signal(name, signal.SIGCONT)
            drain = await self._caught_up(time.perf_counter(), DRAIN_CAP)
            note(f"final drain {drain:.1f} s")
            return await self._figures(time.perf_counter() - started)
        finally:
            self._sending = False
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            await asyncio.to_thread(self._kill, REPLICA)

    async def _per_recipient(self, service: str, sql: str) -> dict[str, int]:
        conn = await asyncpg.connect(service_dsn(self.stack.postgres_port, service))
        try:
            return {r[0]: r[1] for r in await conn.fetch(sql, f"chaos-{self.run_id}-%")}
        finally:
            await conn.close()

    async def _count(self, service: str, sql: str) -> int:
        conn = await asyncpg.connect(service_dsn(self.stack.postgres_port, service))
        try:
            return int(await conn.fetchval(sql))
        finally:
            await conn.close()

    async def _figures(self, wall: float) -> Figures:
        cases = await self._per_recipient("intake", "SELECT destination_agency, count(*) FROM "
                                          "consultations WHERE destination_agency LIKE $1 GROUP BY 1")
        referrals = await self._per_recipient("referral", "SELECT to_agency, count(*) FROM referrals "
                                              "WHERE to_agency LIKE $1 GROUP BY 1")
        items = await self._per_recipient("notifications", "SELECT recipient_id, count(*) FROM "
                                          "inbox_items WHERE recipient_id LIKE $1 GROUP BY 1")
        dead = sum([await self._count(s, "SELECT count(*) FROM dead_letters")
                    for s in ("intake", "referral", "notifications")])
        parked = sum([await self._count(s, "SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL")
                      for s in ("intake", "referral", "notifications")])
        accepted = set(self.accepted)
        by_kind = Counter(f["kind"] for f in self.faults)
        worst: dict[str, float] = {}
        for f in self.faults:
            worst[f["kind"]] = max(worst.get(f["kind"], 0.0), f["catch_up_s"])
        figures: Figures = {
            "seconds": round(wall), "rate_per_s": self.rate, "offered": len(accepted | self.refused),
            "accepted": len(accepted), "refused": len(self.refused),
            "refused_but_applied": len(self.refused & cases.keys()),
            "lost": len(accepted - items.keys()),
            "lost_at_intake": len(accepted - cases.keys()),
            "duplicated_cases": sum(n - 1 for n in cases.values() if n > 1),
            "duplicated_referrals": sum(n - 1 for n in referrals.values() if n > 1),
            "duplicated_inbox_items": sum(n - 1 for n in items.values() if n > 1),
            "dead_lettered": dead, "parked": parked,
            "retried_posts": self.counts["retries"], "replayed_answers": self.counts["replayed"],
            "unanswered_409": self.counts["unanswered_409"],
            "faults": len(self.faults),
            **{f"faults_{k}": by_kind.get(k, 0) for k in KINDS},
            "worst_catch_up_s": max(worst.values(), default=0.0),
            **{f"worst_catch_up_{k}_s": v for k, v in sorted(worst.items())},
            **{f"drain_after_60s_broker_{how}_s": v for how, v in self.drains.items()},
        }
        return figures


async def main() -> Figures:
    seconds = float(os.environ.get("CHAOS_SECONDS", "180"))
    rate = float(os.environ.get("CHAOS_RATE", "4"))
    seed = int(os.environ.get("CHAOS_SEED", str(random.randrange(10**6))))
    note(f"chaos: {seconds:.0f} s at {rate:g}/s, seed {seed}")
    # One recipient per consultation (only offices of the directory take hand-overs), for as
    # long as sending can last; the directory stays a city's size (DirectoryChanged's bound).
    run_id, outages = uuid.uuid4().hex[:6], 2 if seconds >= 600 else 1
    capacity = min(round(rate * (seconds + outages * (OUTAGE_SECONDS + DRAIN_CAP))), 4000)
    directory = directory_with(f"chaos-{run_id}-{i}" for i in range(capacity))
    try:
        async with bench_stack("intake", "referral", "notifications", ports=PORTS,
                               extra_env={**ENV, "REFERRAL_DIRECTORY_FILE": str(directory)}
                               ) as stack:
            await asyncio.to_thread(stack.wait_directory, 60.0,
                                    ("intake", "referral", "notifications"))
            figures = await Campaign(stack, rate, seconds, seed, run_id, capacity).run()
    finally:
        shutil.rmtree(directory.parent, ignore_errors=True)
    figures["seed"] = seed
    return figures


if __name__ == "__main__":
    started = time.monotonic()
    result = asyncio.run(main())
    path = write_results("chaos", result)
    print(table("chaos", result, {}))
    print(f"({time.monotonic() - started:.0f} s wall, written to {path})")
    sys.exit(1 if result["lost"] or result["duplicated_cases"] or result["duplicated_inbox_items"]
             else 0)
