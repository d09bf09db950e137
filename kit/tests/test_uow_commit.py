"""A unit of work's commit is one statement: the write, its events, its audit records and its
claim commit together or not at all, also without a transaction of its own (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from infra.local import databases
from infra.local.stack import Stack
from kit import audit, outbox
from kit.access import Access
from kit.idempotency import Claim, Repeated
from kit.principal import Principal
from kit.settings import ServiceSettings
from kit.tests.conftest import kit_pool
from kit.uow import UnitOfWork, Write

SERVICE = "kituow"
WINDOW = Principal("w-1", "窓口", "div-kaigo", frozenset({"window_staff"}), "132187")
# The "state change" of these tests: a row of a kit table (the kit's database has no other).
_CTES = """
done AS (INSERT INTO idempotency_keys (user_id, key, fingerprint, expires_at)
         SELECT 'state', k, 'f', now() + interval '1 hour' FROM unnest($1::text[]) k
         RETURNING key)
"""
_RESULT = "SELECT count(*) AS written FROM done"


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with kit_pool(stack, SERVICE) as p:
        yield p


def _unit(pool: asyncpg.Pool, object_id: str, claim: Claim | None = None) -> UnitOfWork:
    uow = UnitOfWork(pool, SERVICE, "132187", claim)
    access = Access(ServiceSettings(service=SERVICE, database_url="postgresql://unused"))
    uow.audit(access.entry(WINDOW, "write", "thing", object_id, "permitted", "first"),
              access.entry(WINDOW, "write", "thing", object_id, "permitted", "second"))
    uow.rows.append((uuid.uuid4(), "132187", "kituow.things", object_id, "thing.done",
                     json.dumps({"thing": object_id}), "{}"))
    return uow


async def _kept(pool: asyncpg.Pool, object_id: str) -> tuple[int, list[str], int]:
    """(state rows, audit reasons in chain order, outbox rows) of `object_id`."""
    return (await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE user_id = 'state' "
                                "AND key LIKE $1", f"{object_id}%"),
            [r[0] for r in await pool.fetch("SELECT reason FROM audit_events WHERE object_id = $1 "
                                            "ORDER BY seq", object_id)],
            await pool.fetchval("SELECT count(*) FROM outbox WHERE key = $1", object_id))


async def test_writing_at_commit_commits_the_write_its_events_and_records_at_once(
        pool: asyncpg.Pool, stack: Stack) -> None:
    object_id = str(uuid.uuid4())
    listener = await asyncpg.connect(databases.service_dsn(stack.postgres_port, SERVICE))
    woken: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(outbox.NOTIFY_CHANNEL, lambda *args: woken.put_nowait(args[3]))
    try:
        async with _unit(pool, object_id).writing_at_commit() as uow:
            assert not uow.conn.is_in_transaction()  # reads before the write: no BEGIN
            row = await uow.commit(Write(_CTES, _RESULT, ([f"{object_id}-a", f"{object_id}-b"],)))
        assert row == {"written": 2}
        assert await _kept(pool, object_id) == (2, ["first", "second"], 1)
        seq = await pool.fetchval("SELECT seq FROM outbox WHERE key = $1", object_id)
        assert await asyncio.wait_for(woken.get(), 10) == str(seq)  # the relay is woken for it
    finally:
        await listener.close()
    async with pool.acquire() as conn:
        assert await audit.verify(conn) == []


async def test_a_failing_write_at_commit_leaves_no_event_and_no_record(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    with pytest.raises(asyncpg.UniqueViolationError):  # the write fails as its statement ends
        async with _unit(pool, object_id).writing_at_commit() as uow:
            await uow.commit(Write(_CTES, _RESULT, ([object_id, object_id],)))
    assert await _kept(pool, object_id) == (0, [], 0)


async def test_a_claim_another_request_holds_undoes_the_write_at_commit(pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    first = Claim("w-1", object_id, "print", timedelta(hours=1), b"k" * 32)
    async with _unit(pool, object_id, first).writing_at_commit() as uow:
        await uow.commit(Write(_CTES, _RESULT, ([f"{object_id}-1"],)))
    assert first.taken
    again = Claim("w-1", object_id, "print", timedelta(hours=1), b"k" * 32)
    with pytest.raises(Repeated):
        async with _unit(pool, object_id, again).writing_at_commit() as uow:
            await uow.commit(Write(_CTES, _RESULT, ([f"{object_id}-2"],)))
    assert not again.taken
    assert await _kept(pool, object_id) == (1, ["first", "second"], 1)  # the first's alone


async def test_a_commit_without_a_write_still_writes_its_events_and_records(
        pool: asyncpg.Pool) -> None:
    object_id = str(uuid.uuid4())
    async with _unit(pool, object_id) as uow:
        await uow.conn.execute("INSERT INTO idempotency_keys (user_id, key, fingerprint, "
                               "expires_at) VALUES ('state', $1, 'f', now())", object_id)
        assert await uow.commit() is None
    assert await _kept(pool, object_id) == (1, ["first", "second"], 1)
