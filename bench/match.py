"""Candidate search (名寄せ) on a city-sized register, against a plain pg_trgm similarity search.

BENCH_PEOPLE (1,000,000) synthetic residents (tests/people.py, seed 11) are loaded into intake's own
persons table, with its own indexes, by COPY in batches of 50,000 (keys computed as registration does);
then ANALYZE. BENCH_QUERIES (2,000) residents picked at random are typed once more as another window
might (`variant_of`), and each is searched for with the code of GET /persons/candidates called directly
(tests/people.py `search`: the same probe, blocking SQL and ranking; no HTTP, rate limit or audit).
Latency is one search end to end: blocking SQL + ranking, time.perf_counter, one connection, one at a
time, after 50 unmeasured warm-up searches. recall_top5: the searched-for resident is among the five.

Baseline, same run and data: a pg_trgm GIN index on kana_key built afterwards by the benchmark itself,
and `kana_key % $2 ORDER BY similarity(kana_key, $2) DESC LIMIT 5` on the same normalised readings.

load_seconds is keys + COPY of every batch + ANALYZE (generating the residents is not counted).
"""

from __future__ import annotations

import os
import random
import time
import uuid

import asyncpg

from infra.local.catalog import MUNICIPALITY_CODE
from infra.local.databases import owner_dsn, service_dsn
from services.intake.domain.persons import deletions
from services.intake.store import persons as store
from tests.people import SyntheticPerson, generate, load_people, probe_of, search, variant_of

from .harness import Figures, StackFactory, note, percentile

BASELINES = {"p50_ms": "baseline_p50_ms", "p95_ms": "baseline_p95_ms",
             "recall_top5": "baseline_recall_top5"}
BATCH = 50_000
WARMUP = 50
SEED = 11
TRGM_INDEX = "CREATE INDEX persons_kana_trgm ON persons USING gin (kana_key gin_trgm_ops)"
TRGM_QUERY = ("SELECT id FROM persons WHERE municipality = $1 AND kana_key % $2 "
              "ORDER BY similarity(kana_key, $2) DESC LIMIT 5")

Variant = dict[str, object]


async def load(conn: asyncpg.Connection, owner: asyncpg.Connection,
               people: list[SyntheticPerson]) -> tuple[list[uuid.UUID], float]:
    started = time.perf_counter()
    ids: list[uuid.UUID] = []
    for start in range(0, len(people), BATCH):
        ids += await load_people(conn, people[start:start + BATCH], MUNICIPALITY_CODE, agency="bench")
        spent = time.perf_counter() - started
        note(f"loaded {len(ids):,}/{len(people):,} people in {spent:.0f} s ({len(ids) / spent:,.0f}/s)")
    await owner.execute("ANALYZE persons")
    seconds = time.perf_counter() - started
    note(f"ANALYZE done; load {seconds:.0f} s")
    return ids, seconds


async def product(conn: asyncpg.Connection, targets: list[tuple[uuid.UUID, Variant]],
                  warmup: list[Variant]) -> tuple[list[float], list[int]]:
    """(latencies in s, indexes of the targets not in the top five)."""
    for variant in warmup:
        await search(conn, variant, MUNICIPALITY_CODE)
    latencies: list[float] = []
    misses: list[int] = []
    for i, (true_id, variant) in enumerate(targets):
        started = time.perf_counter()
        ranked = await search(conn, variant, MUNICIPALITY_CODE)
        latencies.append(time.perf_counter() - started)
        if true_id not in [c.person_id for c in ranked]:
            misses.append(i)
    return latencies, misses


async def explain_misses(conn: asyncpg.Connection, targets: list[tuple[uuid.UUID, Variant]],
                         misses: list[int]) -> None:
    """Why the searched-for people were missed (not timed): not among the blocked candidates
    at all, or among them but ranked below five (e.g. namesakes with no birth date typed)."""
    unblocked = 0
    for n, i in enumerate(misses):
        true_id, variant = targets[i]
        probe = probe_of(variant)
        keys = [probe.kana_key, *deletions(probe.kana_key)]
        blocked = true_id in [k.id for k in await store.candidates(conn, MUNICIPALITY_CODE, probe, keys)]
        unblocked += not blocked
        if n < 5:
            note(f"miss ({'ranked below five' if blocked else 'not among the candidates'}): {variant}")
    note(f"{len(misses)} misses: {unblocked} not among the candidates, "
         f"{len(misses) - unblocked} among them but ranked below five")


async def baseline(conn: asyncpg.Connection, targets: list[tuple[uuid.UUID, Variant]],
                   warmup: list[Variant]) -> tuple[list[float], int]:
    """(latencies in s, hits) of the plain trigram query on the same normalised readings."""
    query = await conn.prepare(TRGM_QUERY)
    for variant in warmup:
        await query.fetch(MUNICIPALITY_CODE, probe_of(variant).kana_key)
    latencies: list[float] = []
    hits = 0
    for i, (true_id, variant) in enumerate(targets, 1):
        started = time.perf_counter()
        rows = await query.fetch(MUNICIPALITY_CODE, probe_of(variant).kana_key)
        latencies.append(time.perf_counter() - started)
        hits += true_id in [r["id"] for r in rows]
        if i % 500 == 0:
            note(f"baseline: {i}/{len(targets)} searches, p50 so far "
                 f"{percentile(latencies, 50) * 1000:.1f} ms")
    return latencies, hits


async def run(stack_factory: StackFactory) -> Figures:
    n = int(os.environ.get("BENCH_PEOPLE", "1000000"))
    q = int(os.environ.get("BENCH_QUERIES", "2000"))
    started = time.perf_counter()
    people = generate(n, seed=SEED)
    note(f"generated {n:,} people in {time.perf_counter() - started:.0f} s")
    rng = random.Random(SEED)
    async with stack_factory("intake") as stack:
        conn = await asyncpg.connect(service_dsn(stack.postgres_port, "intake"))
        owner = await asyncpg.connect(owner_dsn(stack.postgres_port, "intake"))
        try:
            ids, load_seconds = await load(conn, owner, people)
            picked = rng.sample(range(n), min(n, q + WARMUP))
            variants = [(ids[i], variant_of(people[i], rng)) for i in picked]
            warmup, targets = [v for _, v in variants[:WARMUP]], variants[WARMUP:]
            note(f"searching for {len(targets)} variants (after {len(warmup)} warm-up searches)")
            latencies, misses = await product(conn, targets, warmup)
            note(f"search: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
                 f"recall@5 {1 - len(misses) / len(targets):.4f}")
            await explain_misses(conn, targets, misses)
            index_started = time.perf_counter()
            await owner.execute(TRGM_INDEX)
            note(f"baseline: pg_trgm GIN index built in {time.perf_counter() - index_started:.0f} s")
            base_latencies, base_hits = await baseline(conn, targets, warmup)
        finally:
            await conn.close()
            await owner.close()
    ms = [x * 1000 for x in latencies]
    base_ms = [x * 1000 for x in base_latencies]
    return {
        "people": n,
        "queries": len(targets),
        "load_seconds": round(load_seconds, 1),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "recall_top5": round(1 - len(misses) / len(targets), 4),
        "baseline_p50_ms": round(percentile(base_ms, 50), 2),
        "baseline_p95_ms": round(percentile(base_ms, 95), 2),
        "baseline_recall_top5": round(base_hits / len(targets), 4),
    }
