"""The first journey under a fixed offered load, against raw Kafka on the same broker.

A consultation is POSTed to intake; intake's relay publishes it, referral opens a referral and its
relay publishes that, notifications puts an item in the agency's inbox. Latency is the time from
the POST being sent to the inbox item being visible in notifications' database. The baseline is a
plain idempotent producer -> consumer round trip at the same rate for the same time, over
plaintext (a listener only the benchmark's broker has); the same round trip over TLS with
SASL/SCRAM, as every service connects, is measured beside it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import NewTopic

from contracts.events.referral import MAX_ENTRIES
from infra.local.acls import grants
from infra.local.catalog import MUNICIPALITY_CODE
from infra.local.databases import service_dsn
from infra.local.kafka_admin import create_acls, started_admin, wait_granted
from infra.local.stack import Stack
from kit.outbox import NOTIFY_CHANNEL

from .harness import CpuMeter, Figures, StackFactory, directory_with, note, open_loop, percentile
from .http1 import Http1

SERVICES = ("intake", "referral", "notifications")
BASELINES = {"throughput_per_s": "offered_per_s", "p50_ms": "baseline_p50_ms",
             "p99_ms": "baseline_p99_ms", "raw_sasl_ssl_p50_ms": "baseline_p50_ms",
             "raw_sasl_ssl_p99_ms": "baseline_p99_ms"}
WARMUP = 20  # sent (and waited for) before measuring: consumer groups join, connections open
DRAIN_SECONDS = 30.0  # after the last send; what arrives later is late (not in the latencies)
LOST_AFTER_SECONDS = 120.0  # what an accepted POST has not delivered by then is lost
POLL_SECONDS = 0.1  # only a safety net: the watcher asks at each commit's NOTIFY
RAW_TOPIC, RAW_TLS_TOPIC = "bench.raw", "bench.raw-sasl-ssl"
# DirectoryChanged carries at most MAX_ENTRIES offices; the seeded directory has a few dozen.
MAX_OFFICES = MAX_ENTRIES - 100
SATURATED_P99_S = 1.0  # saturation: the highest rate offered whose p99 stays under this
WARM_CHUNK_SECONDS = 10.0  # the warm-up is run in chunks, the broker's JIT read after each
WARM_JIT_QUIET = 0.05  # of a core: the broker's compilers are done with the hot paths
WARM_MAX_SECONDS = 180.0
WARM_RAMP_SECONDS = 2.0  # each rate of the sweep, before the warm-up at the first rate


def consultation(agency: str) -> dict[str, Any]:
    """As tests/helpers.py `consultation(agency)`."""
    return {
        "channel": "visit", "receiving_division": "介護福祉課", "received_by": "staff-kaigo-1",
        "main_complaint": "母の介護と息子のひきこもりで困っている",
        "categories": ["elderly_care", "8050"], "urgency": "high",
        "destination": {"kind": "agency", "agency": agency},
    }


class InboxWatcher:
    """One watcher on notifications' database: when is each expected recipient's item visible?

    A key is a recipient (its first item), or `recipient#n` (its n-th item: the sweep's steps
    reuse recipients, since the directory holds at most 5,000 offices). Only recipients still
    awaited are asked for (an index lookup of a handful of keys). It asks when notifications
    commits an item: the item's NotificationDelivered goes to the outbox in the same transaction,
    whose NOTIFY (kit/outbox.py) arrives once it is committed. Polling every few milliseconds
    instead cost PostgreSQL up to 1 ms of CPU per consultation at high rates, on the machine
    measured. A slow poll stays as a safety net. The time recorded is when the query that first
    returned the item was issued: the item was committed before that query's snapshot.
    """

    def __init__(self, dsn: str, poll_seconds: float = POLL_SECONDS,
                 meter: CpuMeter | None = None) -> None:
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        self.meter = meter  # told the watcher's backend, whose CPU is the bench's
        self.awaited: set[str] = set()
        self.seen: dict[str, float] = {}
        self._arrived = asyncio.Event()

    def expect(self, recipient: str) -> None:
        self.awaited.add(recipient)

    def forget(self, recipient: str) -> None:
        self.awaited.discard(recipient)
        self._arrived.set()  # wakes wait_for, which may be waiting for this one alone

    async def run(self) -> None:
        while True:
            try:
                await self._poll()
            except Exception:  # the database restarting (the chaos campaign): poll on
                await asyncio.sleep(0.5)

    async def _poll(self) -> None:
        # A custom plan each time: the generic plan PostgreSQL settles on after five runs scans
        # the index by municipality and kind alone (660 pages a query after a few minutes at
        # 50/s), a cost that grows with every item delivered, on the PostgreSQL being measured.
        conn = await asyncpg.connect(self.dsn, timeout=5,
                                     server_settings={"plan_cache_mode": "force_custom_plan"})
        committed = asyncio.Event()
        if self.meter is not None:
            self.meter.bench_backends = {conn.get_server_pid()}
        try:
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: committed.set())
            # Every column of the index's prefix (recipient_kind too), so all are index conditions.
            query = await conn.prepare("SELECT recipient_id, count(*) FROM inbox_items "
                                       "WHERE municipality = $1 AND recipient_kind = 'office' "
                                       "AND recipient_id = ANY($2::text[]) GROUP BY recipient_id")
            while True:
                try:
                    await asyncio.wait_for(committed.wait(), self.poll_seconds)
                except TimeoutError:
                    pass
                committed.clear()  # a commit from now on asks again
                if self.awaited:
                    asked = time.perf_counter()
                    wanted = {key: _recipient(key) for key in self.awaited}
                    counts = dict(await query.fetch(MUNICIPALITY_CODE,
                                                    list({r for r, _ in wanted.values()}), timeout=10))
                    for key, (recipient, nth) in wanted.items():
                        if counts.get(recipient, 0) >= nth and key in self.awaited:
                            self.awaited.discard(key)
                            self.seen[key] = asked
                            self._arrived.set()
        finally:
            conn.terminate()

    async def wait_for(self, recipients: set[str], timeout: float) -> None:
        """Until every one of `recipients` has been seen (or forgotten), or `timeout` passes."""
        deadline = time.perf_counter() + timeout
        while recipients & self.awaited and time.perf_counter() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(deadline - time.perf_counter(), 0))
            except TimeoutError:
                break


def _recipient(key: str) -> tuple[str, int]:
    recipient, _, nth = key.partition("#")
    return recipient, int(nth or 1)


@dataclass
class Step:
    """One rate of the sweep: what arrived when, and the CPU each process spent on it."""
    rate: float
    latencies: list[float] = field(default_factory=list)
    throughput: float = 0.0
    outcome: dict[str, int] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    stolen_pct: float = 0.0  # of the machine's CPU time, taken by its host during the step

    @property
    def saturated(self) -> bool:
        """p99 at or over a second, or anything late or lost: no higher rate can do better. A POST
        refused (503: intake shedding load) counts as a consultation a second late: it never
        arrived, so more than 1 % refused saturates the step even if every answered one was fast."""
        p99 = percentile(self.latencies + [SATURATED_P99_S] * self.outcome.get("refused", 0), 99)
        return not p99 < SATURATED_P99_S or bool(self.outcome.get("late") or
                                                 self.outcome.get("lost"))


async def journey(stack: Stack, rates: list[float], seconds: float, meter: CpuMeter,
                  warm_seconds: float = 0.0) -> list[Step]:
    """Each rate in turn (after warming up), until one saturates; a Step per rate run.

    Per step: latencies (s), throughput per s, {refused, late, lost}, and CPU ms per consultation
    delivered (an inbox item, whether its POST was answered in time or not), by process, from
    the step's first send until everything sent had arrived (or the drain ended). Refused: the
    POST was not accepted (an error or no answer), so nothing was promised. Late: accepted,
    arrived after the drain. Lost: accepted and never arrived.
    """
    watcher = InboxWatcher(service_dsn(stack.postgres_port, "notifications", stack.postgres_host),
                           meter=meter)
    polling = asyncio.create_task(watcher.run())
    sent: dict[str, float] = {}
    refused: set[str] = set()
    refusals: Counter[int] = Counter()  # by status
    steps: list[Step] = []
    # A window's staff member; each request's bytes are built before its step's clock starts.
    client = Http1("127.0.0.1", stack.service_ports["intake"],
                   {"authorization": f"Bearer {stack.token('w-kaigo')}"})
    requests = {agency: client.post("/consultations", consultation(agency))
                for agency in (*(f"bench-warm-{i}" for i in range(WARMUP)),
                               *agencies(rates, seconds))}
    try:
        async def post(key: str) -> None:
            watcher.expect(key)
            sent[key] = time.perf_counter()
            status = await client.send(requests[_recipient(key)[0]])
            if status != 201:  # not accepted: nothing to wait for
                refusals[status] += 1  # 0: no answer in time
                refused.add(key)
                watcher.forget(key)

        async def warm(i: int) -> None:
            await post(f"bench-warm-{i}")

        await open_loop(rates[0], WARMUP, warm)
        warm_ids = [f"bench-warm-{i}" for i in range(WARMUP)]
        await watcher.wait_for(set(warm_ids), DRAIN_SECONDS)
        first = [round((watcher.seen[a] - sent[a]) * 1000) for a in warm_ids[:5] if a in watcher.seen]
        note(f"journey warm-up: {sum(a in watcher.seen for a in warm_ids)}/{WARMUP} arrived, "
             f"first ones after {first} ms")
        items: Counter[str] = Counter()  # accepted so far, by agency

        async def run_step(rate: float, count: int) -> Step:
            step = Step(rate)
            names = [f"{a}#{items[a] + 1}" for a in agencies([count / seconds], seconds)]
            items.update(_recipient(a)[0] for a in names)

            async def measured(i: int, names: list[str] = names) -> None:
                await post(names[i])

            before, items_before = meter.sample(), await inbox_items(stack)
            machine = meter.machine()
            await open_loop(rate, len(names), measured)
            ours = set(names)
            await watcher.wait_for(ours, DRAIN_SECONDS)
            after, delivered = meter.sample(), await inbox_items(stack) - items_before
            step.stolen_pct = meter.stolen_pct(machine, meter.machine())
            drained = set(watcher.seen)
            await watcher.wait_for(ours, LOST_AFTER_SECONDS)
            arrived = [a for a in names if a in drained]
            step.latencies = [watcher.seen[a] - sent[a] for a in arrived]
            span = max((watcher.seen[a] for a in arrived), default=0.0) - sent[names[0]]
            step.throughput = len(arrived) / span if span > 0 else 0.0
            step.outcome = {
                "refused": len(ours & refused),
                "late": sum(1 for a in ours if a in watcher.seen and a not in drained),
                "lost": sum(1 for a in ours if a not in watcher.seen and a not in refused)}
            # Per consultation delivered, whether its POST was answered in time or not (one
            # the client gave up on is usually served all the same; one shed costs little).
            step.cpu_ms = meter.per_item(before, after, delivered)
            items.subtract(_recipient(a)[0] for a in ours & refused)
            return step

        # A deployed stack runs for days: its broker's code compiled, its caches and pools warm.
        # The first rate, not measured, for warm_seconds and then until the broker's JIT
        # compilers are quiet (they take a third of a core for the first minute or so, which
        # the first steps would otherwise pay), for at most WARM_MAX_SECONDS. Quiet for two chunks
        # in a row: the compilers come back in waves (wave 9: 9 % → 17 % → 6 % → 3 % of a core
        # over four chunks), and a sweep that stopped at the first lull measured its 50/s step
        # with the broker still compiling.
        # Before that, each rate of the sweep for a moment, lowest first: a broker whose code was
        # compiled for the first rate's traffic alone compiles again when the rate rises (its
        # fetches and produces carry several records, other branches run hot). Without the ramp
        # the first step after the first rate paid for it: the broker's CPU per consultation
        # 7.5 ms in the first 10 s at 50/s and 3.9-5.1 in the three after it, p99 117 ms and
        # then 67 / 37 / 55 (wave 10). A deployed broker has seen every rate of its days.
        if warm_seconds > 0:
            quiet = 0
            for rate in sorted(set(rates)):
                ramped = await run_step(rate, max(1, round(rate * min(WARM_RAMP_SECONDS, seconds))))
                note(f"journey warming at {rate:g}/s for {WARM_RAMP_SECONDS:g} s: p99 "
                     f"{percentile(ramped.latencies, 99) * 1000:.0f} ms, {ramped.outcome}")
            note(f"journey: warming up for {warm_seconds:g} s at {rates[0]:g}/s (not measured), "
                 f"then until the broker's JIT is quiet")
            began, chunk = time.monotonic(), min(warm_seconds, WARM_CHUNK_SECONDS)
            while True:
                compiled, started = meter.compiling(), time.monotonic()
                warmed = await run_step(rates[0], round(rates[0] * chunk))
                # Over the chunk's whole time, its drain included.
                jit = (meter.compiling() - compiled) / (time.monotonic() - started)
                elapsed = time.monotonic() - began
                note(f"journey warming, {elapsed:.0f} s: p99 "
                     f"{percentile(warmed.latencies, 99) * 1000:.0f} ms, broker JIT "
                     f"{jit:.0%} of a core, {warmed.stolen_pct:g} % of the CPU stolen, "
                     f"CPU ms per consultation {warmed.cpu_ms}")
                quiet = quiet + 1 if jit < WARM_JIT_QUIET else 0
                if elapsed >= WARM_MAX_SECONDS or (elapsed >= warm_seconds and quiet >= 2):
                    break
        for rate in rates:
            note(f"journey: measuring {round(rate * seconds)} at {rate:g}/s")
            step = await run_step(rate, round(rate * seconds))
            steps.append(step)
            note(f"journey {rate:g}/s: p99 {percentile(step.latencies, 99) * 1000:.0f} ms, "
                 f"{step.outcome} (refusals by status so far: {dict(refusals)}), "
                 f"{step.stolen_pct:g} % of the CPU stolen by the host, "
                 f"CPU ms per consultation {step.cpu_ms}")
            if step.saturated:
                break
    finally:
        client.close()
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    return steps


async def inbox_items(stack: Stack) -> int:
    """Inbox items of the benchmark's agencies in notifications' database, so far."""
    conn = await asyncpg.connect(service_dsn(stack.postgres_port, "notifications"))
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM inbox_items WHERE municipality = $1 "
                                         "AND recipient_id LIKE 'bench-%'", MUNICIPALITY_CODE)
        return count
    finally:
        await conn.close()


def agencies(rates: list[float], seconds: float) -> list[str]:
    """One agency per consultation of the largest step (each step reuses them from the first)."""
    count = max(round(rate * seconds) for rate in rates)
    if count + WARMUP > MAX_OFFICES:
        raise SystemExit(f"{count} consultations in one step: at most {MAX_OFFICES - WARMUP} "
                         "(one office each); lower BENCH_SECONDS")
    return [f"bench-{i}" for i in range(count)]


async def prepare_raw(stack: Stack) -> None:
    """The baselines' topics, as the admin; the plaintext listener's anonymous clients may
    read and write the plaintext one, and nothing else."""
    admin = await started_admin(stack.kafka.client())
    try:
        await admin.create_topics([NewTopic(RAW_TOPIC, 1, 1), NewTopic(RAW_TLS_TOPIC, 1, 1)])
        await create_acls(admin, [a.row for a in grants("ANONYMOUS", read=[RAW_TOPIC],
                                                         write=[RAW_TOPIC])])
    finally:
        await admin.close()
    await wait_granted(plaintext(stack), RAW_TOPIC)


def plaintext(stack: Stack) -> dict[str, Any]:
    return {"bootstrap_servers": f"127.0.0.1:{stack.kafka.plaintext_port}"}


async def raw_kafka(client: dict[str, Any], topic: str, rate: float, seconds: float) -> list[float]:
    """Send -> receive latencies (s) of a plain idempotent producer and a consumer, one partition."""
    run_id = uuid.uuid4().hex
    count = round(rate * seconds)
    latencies: list[float] = []
    producer = AIOKafkaProducer(**client, acks="all", enable_idempotence=True, linger_ms=0)
    consumer = AIOKafkaConsumer(**client, enable_auto_commit=False,
                                auto_offset_reset="earliest")  # no group: a fresh topic, this run's
    await producer.start()
    await consumer.start()
    consumer.assign([TopicPartition(topic, 0)])
    warm_seen = asyncio.Event()

    async def receive() -> None:
        warm = 0
        while len(latencies) < count:
            batch = await consumer.getmany(timeout_ms=1000)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    body = json.loads(record.value or b"{}")
                    if body.get("run") != run_id:
                        continue
                    if body["warm"]:
                        warm += 1
                        if warm == WARMUP:
                            warm_seen.set()
                    else:
                        latencies.append(now - body["t"])

    async def send(i: int, warm: bool) -> None:
        message = {"run": run_id, "seq": i, "warm": warm, "t": time.perf_counter()}
        await producer.send_and_wait(topic, json.dumps(message).encode())

    async def send_warm(i: int) -> None:
        await send(i, True)

    async def send_measured(i: int) -> None:
        await send(i, False)

    receiving = asyncio.create_task(receive())
    try:
        await open_loop(rate, WARMUP, send_warm)
        await asyncio.wait([asyncio.ensure_future(warm_seen.wait())], timeout=DRAIN_SECONDS)
        note(f"baseline {topic} warm-up done; measuring {count} at {rate:g}/s")
        await open_loop(rate, count, send_measured)
        await asyncio.wait([receiving], timeout=DRAIN_SECONDS)  # what is missing then is lost
        note(f"baseline {topic}: {len(latencies)}/{count} received")
    finally:
        receiving.cancel()
        await asyncio.gather(receiving, return_exceptions=True)
        await producer.stop()
        await consumer.stop()
    return latencies


async def run(stack_factory: StackFactory) -> Figures:
    rates = [float(r) for r in os.environ.get("BENCH_RATES", os.environ.get("BENCH_RATE", "20")
                                              ).split(",")]
    seconds = float(os.environ.get("BENCH_SECONDS", "15"))
    # Capped by the offices the directory holds for the steps (one per consultation of the largest).
    warm_seconds = min(float(os.environ.get("BENCH_WARMUP_SECONDS", "20")),
                       max(rates) * seconds / rates[0])
    directory = directory_with([*(f"bench-warm-{i}" for i in range(WARMUP)),
                                *agencies(rates, seconds)])
    raw: dict[float, tuple[list[float], dict[str, float]]] = {}
    try:
        async with stack_factory(*SERVICES, extra_env={"REFERRAL_DIRECTORY_FILE": str(directory)}
                                 ) as stack:
            await asyncio.to_thread(stack.wait_directory, 60.0, SERVICES)
            meter = CpuMeter(stack, SERVICES)
            # The baselines first, with the services idle but up: the same broker, the same machine.
            await prepare_raw(stack)
            for rate in rates:
                before = meter.sample()
                latencies = await raw_kafka(plaintext(stack), RAW_TOPIC, rate, seconds)
                raw[rate] = latencies, meter.per_item(before, meter.sample(), len(latencies))
            raw_tls = await raw_kafka(stack.kafka.client(), RAW_TLS_TOPIC, rates[0], seconds)
            steps = await journey(stack, rates, seconds, meter, warm_seconds)
    finally:
        shutil.rmtree(directory.parent, ignore_errors=True)
    tls_ms = [x * 1000 for x in raw_tls]
    figures: Figures = {}
    for n, step in enumerate(steps):
        # The first rate's figures under the keys a single-rate run has always had.
        prefix = "" if n == 0 else f"r{step.rate:g}_"
        figures.update({f"{prefix}{k}": v for k, v in step_figures(step, seconds, *raw[step.rate]
                                                                      ).items()})
        if n == 0:
            figures["raw_sasl_ssl_p50_ms"] = round(percentile(tls_ms, 50), 2)
            figures["raw_sasl_ssl_p99_ms"] = round(percentile(tls_ms, 99), 2)
    unsaturated = [s.rate for s in steps if not s.saturated]
    figures["saturation_per_s"] = max(unsaturated) if unsaturated else 0.0
    return figures


def step_figures(step: Step, seconds: float, raw: list[float], raw_cpu: dict[str, float]
                 ) -> Figures:
    ms = [x * 1000 for x in step.latencies]
    raw_ms = [x * 1000 for x in raw]
    p50, base_p50 = percentile(ms, 50), percentile(raw_ms, 50)
    figures: Figures = {
        "offered_per_s": step.rate,
        "throughput_per_s": round(step.throughput, 2),
        "p50_ms": round(p50, 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "baseline_p50_ms": round(base_p50, 2),
        "baseline_p99_ms": round(percentile(raw_ms, 99), 2),
        "ratio_p50": round(p50 / base_p50, 2) if base_p50 > 0 else float("nan"),
        "count": round(step.rate * seconds),
        **step.outcome,
        "seconds": seconds,
        # Not the stack's doing: the host's other tenants. The tail follows it (PROFILE.md, wave 10).
        "cpu_stolen_pct": step.stolen_pct,
    }
    for name in (*SERVICES, "postgres", "kafka"):
        figures[f"cpu_ms_per_consultation_{name}"] = step.cpu_ms.get(name, float("nan"))
    # The raw round trip's client (this process) and broker, per message, at the same rate.
    figures["baseline_cpu_ms_per_message"] = raw_cpu["bench"]
    figures["baseline_kafka_cpu_ms_per_message"] = raw_cpu["kafka"]
    return figures
