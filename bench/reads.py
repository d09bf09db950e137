"""Authorised reads under concurrency, against a raw asyncpg SELECT of the same row.

One person is registered and one consultation naming them recorded at 介護福祉課's window; then
`GET /persons/{id}` and `GET /consultations/{id}` are read by w-kaigo (who may: the record is
their division's) at concurrency 1, 8, 32 and 128: that many clients, each sending its next
request when the previous answer arrived (closed loop), for BENCH_READS_SECONDS (4) per level
after one unmeasured second. Every read runs the whole path: token check, the record, the access
views, the decision and the audit record (its own transaction, on the chain lock).

Baseline, same run and database: `SELECT * FROM <table> WHERE id = $1` of the same row through
an asyncpg pool of the service's size (pool_max, 10), at the same concurrency for the same time.

The audit write's cost, measured apart on the same database and pool, at concurrency 1 and 32:
the raw SELECT alone (`audit_c<N>_raw_*`); followed by the audit write as a read makes it, in
group commits (kit/audit_writer.py; `audit_c<N>_*`); and followed by the audit write in a
transaction of its own per read (`audit_c<N>_single_*`), as reads did before the writer.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import httpx

from infra.local.catalog import MUNICIPALITY_CODE
from infra.local.databases import service_dsn
from kit import audit
from kit.audit_writer import AuditWriter
from kit.db import connect
from kit.principal import Principal
from kit.settings import ServiceSettings

from .harness import Figures, StackFactory, note, percentile

LEVELS = (1, 8, 32, 128)
SECONDS = float(os.environ.get("BENCH_READS_SECONDS", "4"))
WARMUP_SECONDS = 1.0
POOL = ServiceSettings(service="intake", database_url="postgresql://unused").pool_max
READS = {"person": "persons", "consultation": "consultations"}  # figure prefix -> table
BASELINES = {f"{what}_c{c}_{fig}": f"{what}_c{c}_baseline_{fig}"
             for what in READS for c in LEVELS for fig in ("p50_ms", "throughput_per_s")}
BASELINES |= {f"audit_c{c}_{fig}": f"audit_c{c}_raw_{fig}"
              for c in (1, 32) for fig in ("p50_ms", "throughput_per_s")}
READER = Principal("w-kaigo", "bench", "div-kaigo", frozenset({"window_staff"}), MUNICIPALITY_CODE)


async def closed_loop(concurrency: int, seconds: float,
                      once: Callable[[], Awaitable[bool]]) -> tuple[list[float], float, int]:
    """`concurrency` workers calling `once` back to back for `seconds` (after WARMUP_SECONDS
    unmeasured): (latencies of the successful calls in s, their throughput per s, failures)."""
    latencies: list[float] = []
    failures = 0
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + WARMUP_SECONDS
    stop = measure_from + seconds

    async def worker() -> None:
        nonlocal failures
        while (started := loop.time()) < stop:
            ok = await once()
            if started >= measure_from:
                if ok:
                    latencies.append(loop.time() - started)
                else:
                    failures += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = loop.time() - measure_from
    return latencies, len(latencies) / elapsed, failures


def figures_of(prefix: str, result: tuple[list[float], float, int]) -> Figures:
    latencies, throughput, failures = result
    figures: Figures = {f"{prefix}p50_ms": percentile(latencies, 50) * 1000,
                        f"{prefix}p99_ms": percentile(latencies, 99) * 1000,
                        f"{prefix}throughput_per_s": throughput}
    if failures:
        figures[f"{prefix}failed"] = failures
    return figures


async def seed(client: httpx.AsyncClient, base: str) -> dict[str, str]:
    """A person and a consultation naming them: {"person": id, "consultation": id}."""
    person = await client.post(base + "/persons", json={
        "family_name": "山田", "given_name": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ",
        "birth_date": "1950-04-01"})
    person.raise_for_status()
    consultation = await client.post(base + "/consultations", json={
        "channel": "visit", "main_complaint": "母の介護と息子のひきこもりで困っている",
        "categories": ["elderly_care", "8050"], "urgency": "high",
        "destination": {"kind": "general_desk"}, "person_ids": [person.json()["id"]]})
    consultation.raise_for_status()
    return {"person": person.json()["id"], "consultation": consultation.json()["id"]}


async def audit_cost(pool: asyncpg.Pool, dsn: str, table: str, row_id: str) -> Figures:
    """SELECT alone; SELECT + the audit write as a read makes it (kit/audit_writer.py, group
    commits); SELECT + the audit write one transaction each (as before the writer)."""
    query = f"SELECT * FROM {table} WHERE id = $1"

    def entry() -> audit.AuditEntry:
        return audit.AuditEntry(municipality=MUNICIPALITY_CODE, at=datetime.now(UTC),
                                service="intake", principal=READER, action="read",
                                object_type="bench", object_id=row_id, outcome="permitted",
                                reason="bench")

    async def raw() -> bool:
        async with pool.acquire() as conn:
            await conn.fetchrow(query, row_id)
        return True

    async def grouped() -> bool:
        async with pool.acquire() as conn:
            await conn.fetchrow(query, row_id)
            await writer.write(entry(), [])
        return True

    async def single() -> bool:
        async with pool.acquire() as conn:
            await conn.fetchrow(query, row_id)
            async with conn.transaction():
                await audit.write(conn, entry())
        return True

    writer = AuditWriter(lambda: connect(dsn))
    writing = asyncio.create_task(writer.run())
    figures: Figures = {}
    try:
        for c in (1, 32):
            figures |= figures_of(f"audit_c{c}_", await closed_loop(c, SECONDS, grouped))
            figures |= figures_of(f"audit_c{c}_single_", await closed_loop(c, SECONDS, single))
            figures |= figures_of(f"audit_c{c}_raw_", await closed_loop(c, SECONDS, raw))
    finally:
        writer.stop()
        await writing
    return figures


async def run(stack_factory: StackFactory) -> Figures:
    figures: Figures = {"pool_max": POOL, "seconds_per_level": SECONDS}
    async with stack_factory("intake") as stack:
        base = stack.url("intake")
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        headers = {"authorization": f"Bearer {stack.token('w-kaigo')}"}
        pool = await asyncpg.create_pool(service_dsn(stack.postgres_port, "intake"),
                                         min_size=POOL, max_size=POOL)
        assert pool is not None
        try:
            async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:
                ids = await seed(client, base)
                for what, table in READS.items():
                    url = f"{base}/{table}/{ids[what]}"
                    query = f"SELECT * FROM {table} WHERE id = $1"

                    async def read(url: str = url) -> bool:
                        try:
                            return (await client.get(url)).status_code == 200
                        except httpx.HTTPError:
                            return False

                    async def raw(query: str = query, row_id: str = ids[what]) -> bool:
                        async with pool.acquire() as conn:
                            return await conn.fetchrow(query, row_id) is not None

                    for c in LEVELS:
                        figures |= figures_of(f"{what}_c{c}_", await closed_loop(c, SECONDS, read))
                        figures |= figures_of(f"{what}_c{c}_baseline_",
                                              await closed_loop(c, SECONDS, raw))
                        note(f"{what} at {c}: {figures[f'{what}_c{c}_throughput_per_s']:.0f}/s, "
                             f"raw {figures[f'{what}_c{c}_baseline_throughput_per_s']:.0f}/s")
            figures |= await audit_cost(pool, service_dsn(stack.postgres_port, "intake"),
                                        "persons", ids["person"])
        finally:
            await pool.close()
    for what in READS:
        figures[f"{what}_c32_ratio_throughput"] = (
            float(figures[f"{what}_c32_throughput_per_s"])
            / float(figures[f"{what}_c32_baseline_throughput_per_s"]))
    return figures
