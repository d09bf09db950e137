"""An audited write and its audit record commit together; a refusal is on record regardless
(real PostgreSQL of the test stack)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from starlette.requests import Request

from infra.local import databases
from infra.local.stack import Stack
from kit import audit
from kit.access import Access
from kit.audit import Denied
from kit.audit_writer import AuditUnavailable, AuditWriter
from kit.db import connect
from kit.policy import Record
from kit.principal import Principal
from kit.settings import ServiceSettings
from kit.tests.conftest import kit_pool
from kit.uow import UnitOfWork

SERVICE = "kitaudit"
WINDOW = Principal("w-1", "窓口", "div-kaigo", frozenset({"window_staff"}), "132187")


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with kit_pool(stack, SERVICE) as p:
        yield p


def _access() -> Access:
    return Access(ServiceSettings(service=SERVICE, database_url="postgresql://unused"))


def _request() -> Request:
    return Request({"type": "http", "headers": [], "method": "GET", "path": "/"})


async def _rows(pool: asyncpg.Pool, object_id: str) -> list[str]:
    return [r["outcome"] for r in await pool.fetch(
        "SELECT outcome FROM audit_events WHERE object_id = $1 ORDER BY seq", object_id)]


async def test_a_write_rolled_back_leaves_no_audit_record(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with UnitOfWork(pool, SERVICE, "132187") as uow:
            await _access().audit_only(uow, WINDOW, "write", "thing", object_id)
            raise RuntimeError("the database died before COMMIT")
    assert await _rows(pool, object_id) == []


async def test_a_committed_write_has_its_audit_record(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    async with UnitOfWork(pool, SERVICE, "132187") as uow:
        await _access().audit_only(uow, WINDOW, "write", "thing", object_id)
        assert await _rows(pool, object_id) == []  # not visible before COMMIT
        await uow.commit()
    assert await _rows(pool, object_id) == ["permitted"]


async def test_a_refusal_inside_a_write_is_on_record_after_the_rollback(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    other = Record(municipality="132187", holders=frozenset({"soudan-1"}),
                   person_ids=frozenset({uuid.uuid4()}))
    with pytest.raises(Denied):
        async with UnitOfWork(pool, SERVICE, "132187") as uow:
            await _access().audit_only(uow, WINDOW, "write", "thing", object_id)
            await _access().check(uow, _request(), WINDOW, other, "write", "thing", object_id)
    assert await _rows(pool, object_id) == ["denied"]  # the permitted write's record went with it


async def test_a_refused_read_on_a_bare_connection_is_on_record(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    other = Record(municipality="132187", holders=frozenset({"soudan-1"}))
    async with pool.acquire() as conn:
        with pytest.raises(Denied):
            await _access().check(conn, _request(), WINDOW, other, "read", "thing", object_id)
    assert await _rows(pool, object_id) == ["denied"]


async def test_reads_records_committed_together_chain_and_a_failed_batch_refuses(
        pool: asyncpg.Pool, stack: Stack) -> None:
    writer = AuditWriter(lambda: connect(databases.service_dsn(stack.postgres_port, SERVICE)))
    running = asyncio.create_task(writer.run())
    object_id = str(uuid.uuid4())
    try:
        await asyncio.gather(*(writer.write(_access().entry(WINDOW, "read", "thing", object_id,
                                                            "permitted", "bench"), [])
                               for _ in range(20)))
    finally:
        writer.stop()
        await running
    assert await _rows(pool, object_id) == ["permitted"] * 20
    async with pool.acquire() as conn:
        assert await audit.verify(conn) == []

    async def unreachable() -> asyncpg.Connection:
        raise OSError("the database is away")
    broken = AuditWriter(unreachable)
    running = asyncio.create_task(broken.run())
    try:
        with pytest.raises(AuditUnavailable):  # not served without its record
            await broken.write(_access().entry(WINDOW, "read", "thing", object_id, "permitted",
                                               "lost"), [])
    finally:
        broken.stop()
        await running


async def test_concurrent_writes_and_reads_keep_one_unbroken_chain(pool: asyncpg.Pool,
                                                                   stack: Stack) -> None:
    """Writes (each in its own unit of work) and reads' group commits race for the chain's head:
    each reads it only once it holds the chain's lock (audit_chain_head), so none forks it."""
    writer = AuditWriter(lambda: connect(databases.service_dsn(stack.postgres_port, SERVICE)))
    running = asyncio.create_task(writer.run())
    object_id = str(uuid.uuid4())

    async def write() -> None:
        async with UnitOfWork(pool, SERVICE, "132187") as uow:
            await _access().audit_only(uow, WINDOW, "write", "thing", object_id)
            await uow.commit()

    async def read() -> None:
        await writer.write(_access().entry(WINDOW, "read", "thing", object_id, "permitted",
                                           "raced"), [])
    try:
        await asyncio.gather(*(f() for _ in range(15) for f in (write, read)))
    finally:
        writer.stop()
        await running
    assert sorted(await _rows(pool, object_id)) == ["permitted"] * 30
    async with pool.acquire() as conn:
        assert await audit.verify(conn) == []
        heads = await conn.fetchval("SELECT count(*) FROM audit_events a WHERE NOT EXISTS "
                                    "(SELECT 1 FROM audit_events b WHERE b.prev_hash = a.hash)")
        assert heads == 1  # one chain: every record but the last is some record's predecessor


async def test_a_write_holds_the_chain_only_while_it_commits(pool: asyncpg.Pool) -> None:
    """A unit of work that has written its audit record but not committed yet (its service busy,
    say) does not hold the chain: another write commits meanwhile. Each record is chained as its
    transaction commits, in commit order, and the chain stays whole."""
    object_id = str(uuid.uuid4())
    async with UnitOfWork(pool, SERVICE, "132187") as slow:
        await audit.write(slow.conn, _access().entry(WINDOW, "write", "thing", object_id,
                                                     "permitted", "slow"))
        async with UnitOfWork(pool, SERVICE, "132187") as quick:
            await _access().audit_only(quick, WINDOW, "write", "thing", object_id, reason="quick")
            await asyncio.wait_for(quick.commit(), timeout=10)
        await slow.commit()
    async with pool.acquire() as conn:
        reasons = [r["reason"] for r in await conn.fetch(
            "SELECT reason FROM audit_events WHERE object_id = $1 ORDER BY seq", object_id)]
        assert reasons == ["quick", "slow"]
        assert await audit.verify(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM audit_pending") == 0


async def test_a_writer_not_yet_upgraded_still_joins_the_one_chain(pool: asyncpg.Pool) -> None:
    """During a rolling deployment an instance of the old kit chains its records itself, under
    audit_chain_head()'s lock (kit migration 0013), while upgraded ones are chained at COMMIT:
    the records of both, interleaved, verify as one chain."""
    object_id = str(uuid.uuid4())

    async def old_writer() -> None:  # what kit/audit.py's write_many did before migration 0012
        entry = _access().entry(WINDOW, "write", "thing", object_id, "permitted", "old kit")
        async with pool.acquire() as conn, conn.transaction():
            prev = await conn.fetchval("SELECT audit_chain_head()") or audit.GENESIS
            row = entry.row()
            await conn.execute(
                "INSERT INTO audit_events (id, municipality, at, service, user_id, user_name, "
                "roles, agency, action, object_type, object_id, person_ids, purpose, outcome, "
                "reason, trace_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "$10, $11, $12, $13, $14, $15, $16, $17, $18)",
                *(row[k] for k in audit._CHAINED), prev, audit.chain_hash(prev, row))

    async def new_writer() -> None:
        async with UnitOfWork(pool, SERVICE, "132187") as uow:
            await _access().audit_only(uow, WINDOW, "write", "thing", object_id)
            await uow.commit()

    await asyncio.gather(*(f() for _ in range(8) for f in (old_writer, new_writer)))
    assert await _rows(pool, object_id) == ["permitted"] * 16
    async with pool.acquire() as conn:
        assert await audit.verify(conn) == []


async def test_chaining_finds_its_pending_record_by_key_after_a_vacuum(stack: Stack,
                                                                       pool: asyncpg.Pool) -> None:
    """A vacuum leaves audit_pending empty and truncated; the chaining trigger, planned afresh,
    still deletes its pending record through the key instead of reading the whole table (which
    grows by a page per ~20 records until the next vacuum, under the chain's lock)."""
    owner = await asyncpg.connect(databases.owner_dsn(stack.postgres_port, SERVICE))
    try:
        await owner.execute("VACUUM audit_pending")
    finally:
        await owner.close()
    object_id = str(uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        await audit.write(conn, _access().entry(WINDOW, "write", "thing", object_id, "permitted",
                                                "after a vacuum"))
        await conn.execute("SET CONSTRAINTS audit_pending_chained IMMEDIATE")  # chain it now
        scans = await conn.fetchrow("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                                    "WHERE relname = 'audit_pending'")
    assert (scans["seq_scan"], scans["idx_scan"]) == (0, 1)
    assert await _rows(pool, object_id) == ["permitted"]
