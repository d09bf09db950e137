"""A routing task's event is written in the statement that opens the task: once, and only if the
task is opened (real PostgreSQL of the test stack, in a database of its own)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from contracts.events.intake import ConsultationReceived
from infra.local import databases
from infra.local.stack import Stack
from kit import outbox
from kit.clock import now
from kit.db import create_pool
from kit.migrate import migrate
from services.referral import domain, store

SERVICE = "referralstore"


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    await databases.provision(stack.postgres.superuser_dsn(), SERVICE)
    await migrate(databases.owner_dsn(stack.postgres_port, SERVICE), f"tsunagu_{SERVICE}_app",
                  SERVICE, Path(store.__file__).parent.parent / "migrations")
    p = await create_pool(databases.service_dsn(stack.postgres_port, SERVICE))
    yield p
    await p.close()


async def _receive(conn: asyncpg.Connection, e: ConsultationReceived) -> None:
    """What the handler does for one delivery of `e` (each delivery opens a task of its own)."""
    task = domain.open_routing_task(e, now())
    assert task is not None
    async with conn.transaction():
        await store.add_consultations(conn, [store.kept(
            e, "132187", task, outbox.rows_for(task.events, "referral", "132187"))])


async def test_the_task_and_its_event_once_however_often_the_consultation_arrives(
        pool: asyncpg.Pool) -> None:
    e = ConsultationReceived(consultation_id=uuid.uuid4(), received_at=now(), channel="visit",
                             receiving_division="div-kaigo", categories=("8050",),
                             urgency="normal", destination_kind="agency",
                             destination_agency="houkatsu-1")
    async with pool.acquire() as conn:
        await _receive(conn, e)
        await _receive(conn, e)  # e.g. a redelivery under a new message id: the task is live
        tasks = await conn.fetch("SELECT id FROM referrals WHERE consultation_id = $1",
                                 e.consultation_id)
        events = await conn.fetch("SELECT key, topic FROM outbox WHERE payload->>'consultation_id'"
                                  " = $1", str(e.consultation_id))
    assert len(tasks) == 1
    assert [(r["key"], r["topic"]) for r in events] == [(str(tasks[0]["id"]), "referral.events")]
