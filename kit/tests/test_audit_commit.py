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
    """Writes (each in its own unit of work) and reads' group commits race, and two chainers
    chain what has committed meanwhile: one holds the chain at a time, so none forks it."""
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

    async def chainer() -> None:
        for _ in range(10):
            async with pool.acquire() as conn:
                await audit.chain(conn, limit=3)
            await asyncio.sleep(0)
    try:
        await asyncio.gather(*(f() for _ in range(15) for f in (write, read)),
                             chainer(), chainer())
    finally:
        writer.stop()
        await running
    assert sorted(await _rows(pool, object_id)) == ["permitted"] * 30
    async with pool.acquire() as conn:
        await _chain_all(conn)
        assert await audit.verify(conn) == []
        heads = await conn.fetchval("SELECT count(*) FROM audit_links a WHERE NOT EXISTS "
                                    "(SELECT 1 FROM audit_links b WHERE b.prev_hash = a.hash)")
        assert heads == 1  # one chain: every link but the last is some link's predecessor


async def _chain_all(conn: asyncpg.Connection) -> None:
    """What the services' periodic audit-chain job does (kit tests run no service)."""
    while await audit.chain(conn):
        pass
    assert (await audit.unchained(conn)).count == 0


async def test_a_write_takes_no_lock_for_its_record(pool: asyncpg.Pool) -> None:
    """A unit of work that has written its audit record but not committed yet (its service busy,
    say) holds nothing another needs: another write commits meanwhile, and a chainer chains that
    one while the first is still open. The first is chained after it commits; the chain is
    whole, and a record is in it only once committed."""
    object_id = str(uuid.uuid4())
    async with UnitOfWork(pool, SERVICE, "132187") as slow:
        await audit.write(slow.conn, _access().entry(WINDOW, "write", "thing", object_id,
                                                     "permitted", "slow"))
        async with UnitOfWork(pool, SERVICE, "132187") as quick:
            await _access().audit_only(quick, WINDOW, "write", "thing", object_id, reason="quick")
            await asyncio.wait_for(quick.commit(), timeout=10)
        async with pool.acquire() as conn:
            await asyncio.wait_for(_chain_all(conn), timeout=10)
            assert await _linked(conn, object_id) == ["quick"]
        await slow.commit()
    async with pool.acquire() as conn:
        await _chain_all(conn)
        assert await _linked(conn, object_id) == ["quick", "slow"]
        assert await audit.verify(conn) == []


async def _linked(conn: asyncpg.Connection, object_id: str) -> list[str]:
    """The object's records' reasons, in the chain's order."""
    return [r["reason"] for r in await conn.fetch(
        "SELECT e.reason FROM audit_links l JOIN audit_events e USING (seq) "
        "WHERE e.object_id = $1 ORDER BY l.pos", object_id)]


# What kit/audit.py's write_many sent before migration 0015 (from 0012 on): the record pending,
# chained by a trigger at COMMIT.
_PENDING_OLD_KIT = """
INSERT INTO audit_pending (id, municipality, at, service, user_id, user_name, roles, agency, action,
    object_type, object_id, person_ids, purpose, outcome, reason, trace_id, canonical)
SELECT r.id, r.municipality, r.at, r.service, r.user_id, r.user_name, r.roles, r.agency, r.action,
    r.object_type, r.object_id, r.person_ids, r.purpose, r.outcome, r.reason, r.trace_id, c
FROM unnest($1::text[]) WITH ORDINALITY AS u(c, n),
     jsonb_populate_record(NULL::audit_pending, c::jsonb) AS r
ORDER BY n
"""


async def test_writers_not_yet_upgraded_still_join_the_one_chain(pool: asyncpg.Pool) -> None:
    """During a rolling deployment instances of older kits still write the old ways: a pending
    record chained at COMMIT (migrations 0012-0014), or a record chained by the writer itself
    under audit_chain_head()'s lock (before 0012). Their records are visible once committed and
    join the one chain through the chainer, interleaved with the upgraded writers' records."""
    object_id = str(uuid.uuid4())

    async def oldest_writer() -> None:  # what kit/audit.py's write_many did before migration 0012
        entry = _access().entry(WINDOW, "write", "thing", object_id, "permitted", "oldest kit")
        async with pool.acquire() as conn, conn.transaction():
            prev = await conn.fetchval("SELECT audit_chain_head()") or audit.GENESIS
            row = entry.row()
            await conn.execute(
                "INSERT INTO audit_events (id, municipality, at, service, user_id, user_name, "
                "roles, agency, action, object_type, object_id, person_ids, purpose, outcome, "
                "reason, trace_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "$10, $11, $12, $13, $14, $15, $16, $17, $18)",
                *(row[k] for k in audit._CHAINED), prev, audit.chain_hash(prev, row))

    async def old_writer() -> None:
        entry = _access().entry(WINDOW, "write", "thing", object_id, "permitted", "old kit")
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(_PENDING_OLD_KIT, audit.canonicals([entry]))

    async def new_writer() -> None:
        async with UnitOfWork(pool, SERVICE, "132187") as uow:
            await _access().audit_only(uow, WINDOW, "write", "thing", object_id)
            await uow.commit()

    async def chainer() -> None:
        async with pool.acquire() as conn:
            await audit.chain(conn)

    await asyncio.gather(*(f() for _ in range(6)
                           for f in (oldest_writer, old_writer, new_writer, chainer)))
    assert await _rows(pool, object_id) == ["permitted"] * 18
    async with pool.acquire() as conn:
        await _chain_all(conn)
        assert len(await _linked(conn, object_id)) == 18
        assert await audit.verify(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM audit_pending") == 0


async def _one_unchained(pool: asyncpg.Pool, conn: asyncpg.Connection) -> int:
    """The seq of one audited write committed after everything before it was chained."""
    object_id = str(uuid.uuid4())
    await _chain_all(conn)
    async with UnitOfWork(pool, SERVICE, "132187") as uow:
        await _access().audit_only(uow, WINDOW, "write", "thing", object_id)
        await uow.commit()
    seq: int = await conn.fetchval("SELECT seq FROM audit_events WHERE object_id = $1", object_id)
    return seq


async def test_verify_names_the_unchained_tail_and_a_tampered_link(stack: Stack,
                                                                  pool: asyncpg.Pool) -> None:
    """A committed record not chained yet is on the trail and counted apart (not a break); once
    chained, editing it around every guard breaks the chain at its seq."""
    async with pool.acquire() as conn:
        seq = await _one_unchained(pool, conn)
        tail = await audit.unchained(conn)
        assert (tail.count, tail.oldest_seq) == (1, seq)
        assert await audit.verify(conn) == []
        await _chain_all(conn)
    su = await asyncpg.connect(stack.postgres.superuser_dsn(f"tsunagu_{SERVICE}"))
    try:
        await su.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
        await su.execute("UPDATE audit_events SET outcome = 'denied' WHERE seq = $1", seq)
        async with pool.acquire() as conn:
            assert await audit.verify(conn) == [seq]
    finally:
        await su.execute("UPDATE audit_events SET outcome = 'permitted' WHERE seq = $1", seq)
        await su.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
        await su.close()


async def test_a_record_taken_off_the_chainers_queue_is_named_broken(pool: asyncpg.Pool) -> None:
    """The runtime role may delete from the chainer's queue (the chainer itself does): a record
    taken off it would never be chained, and /readyz and the alert read the queue alone, so the
    verifier names it."""
    async with pool.acquire() as conn:
        seq = await _one_unchained(pool, conn)
        await conn.execute("DELETE FROM audit_unchained WHERE seq = $1", seq)
        try:
            assert await audit.verify(conn) == [seq]
        finally:
            await conn.execute("INSERT INTO audit_unchained (seq) VALUES ($1)", seq)
        await _chain_all(conn)
        assert await audit.verify(conn) == []


async def test_an_old_kits_pending_record_is_moved_by_key_after_a_vacuum(
        stack: Stack, pool: asyncpg.Pool) -> None:
    """A vacuum leaves audit_pending empty and truncated; the trigger moving an old kit's pending
    record at COMMIT, planned afresh, still deletes it through the key instead of reading the
    whole table (which grows by a page per ~20 records until the next vacuum)."""
    owner = await asyncpg.connect(databases.owner_dsn(stack.postgres_port, SERVICE))
    try:
        await owner.execute("VACUUM audit_pending")
    finally:
        await owner.close()
    object_id = str(uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_PENDING_OLD_KIT, audit.canonicals(
            [_access().entry(WINDOW, "write", "thing", object_id, "permitted", "after a vacuum")]))
        await conn.execute("SET CONSTRAINTS audit_pending_chained IMMEDIATE")  # move it now
        scans = await conn.fetchrow("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                                    "WHERE relname = 'audit_pending'")
    assert (scans["seq_scan"], scans["idx_scan"]) == (0, 1)
    assert await _rows(pool, object_id) == ["permitted"]
