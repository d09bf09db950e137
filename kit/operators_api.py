"""The operator's mending of what got stuck, the same on every service (role `operator` only).

Dead letters: list (per consumer), show one, replay one or all after a fix, discard one with a
reason. A replay is a delivery of the stored event through the inbox (kit/inbox.py replay): the
same reading, the same claim by event id and the same handlers, in the route's one transaction,
so an event replayed twice, or applied by another path meanwhile, takes effect once. A replay
that fails again leaves the dead letter open with the new reason and last failure.

Parked outbox rows (kit/relay.py): list, and re-queue a row with the rows held behind it (the
same topic and key), so the relay sends them in their order. Every call is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka.structs import ConsumerRecord
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from contracts.bounds import Reason
from kit.access import Access, AccessDep
from kit.api import ConnDep, UowDep
from kit.auth import PrincipalDep
from kit.inbox import InboxConsumer
from kit.outbox import NOTIFY_CHANNEL
from kit.policy import Action
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

router = APIRouter(prefix="/operators", tags=["運用 operators"])
_OPERATORS_ONLY = "運用担当だけが扱えます / for the operator role only"
_COLUMNS = """id, consumer, topic, partition, kafka_offset, message_id, reason, attempts,
    dead_lettered_at, last_failed_at, status, resolved_at, resolved_by, resolution,
    (SELECT v FROM unnest(header_names, header_values) AS h(n, v) WHERE n = 'ce_type' LIMIT 1)
        AS event_type"""
_LIST = f"""SELECT {_COLUMNS} FROM dead_letters
WHERE ($1::text IS NULL OR consumer = $1) AND ($2::text IS NULL OR status = $2)
ORDER BY id LIMIT $3"""
_ONE = f"SELECT {_COLUMNS}, event_key, event_value, header_names, header_values " \
       "FROM dead_letters WHERE id = $1"
_LOCK_OPEN = "SELECT id FROM dead_letters WHERE status = 'dead' AND ($1::bigint IS NULL OR id = $1)" \
             " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
_RESOLVE = """UPDATE dead_letters SET status = $2, resolved_at = now(), resolved_by = $3,
    resolution = $4 WHERE id = $1"""
_FAILED_AGAIN = """UPDATE dead_letters SET reason = $2, attempts = attempts + 1,
    last_failed_at = now() WHERE id = $1"""
_PARKED = """SELECT seq, id, topic, key, type, created_at, parked_at, park_reason FROM outbox
WHERE parked_at IS NOT NULL AND published_at IS NULL ORDER BY seq LIMIT $1"""
# The row and every later parked row of its topic and key (held behind it), or every parked row.
_REQUEUE = """UPDATE outbox o SET parked_at = NULL, park_reason = NULL
FROM (SELECT topic, key, seq FROM outbox WHERE seq = $1) AS first
WHERE o.parked_at IS NOT NULL AND o.published_at IS NULL
  AND o.topic = first.topic AND o.key = first.key AND o.seq >= first.seq"""
_REQUEUE_ALL = "UPDATE outbox SET parked_at = NULL, park_reason = NULL " \
               "WHERE parked_at IS NOT NULL AND published_at IS NULL"


class DeadLetter(BaseModel):
    id: int
    consumer: str
    event_type: str | None
    message_id: str | None
    topic: str
    partition: int
    kafka_offset: int
    reason: str
    attempts: int
    dead_lettered_at: datetime  # the first failure
    last_failed_at: datetime
    status: str
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class DeadLetterDetail(DeadLetter):
    key: str | None
    headers: dict[str, str]
    value: str | None  # the event as sent: ids and codes by contract (contracts/tests)


class ReplayOutcome(BaseModel):
    replayed: list[int]  # applied now, or found applied before (the inbox had its id)
    failed: dict[int, str]  # still dead: the reason of this attempt


class Discard(BaseModel):
    reason: Reason


class ParkedRow(BaseModel):
    seq: int
    id: uuid.UUID
    topic: str
    key: str
    type: str
    created_at: datetime
    parked_at: datetime
    park_reason: str | None


class Requeued(BaseModel):
    requeued: int


async def _operator(db: Any, access: Access, principal: Principal, action: Action,
                    object_type: str, object_id: str | None) -> None:
    await access.require(db, principal, principal.has("operator"), action, object_type, object_id,
                         _OPERATORS_ONLY)
    await access.audit_only(db, principal, action, object_type, object_id,
                            reason="operator", purpose="operations")


def _text(value: bytes | None) -> str | None:
    return None if value is None else bytes(value).decode("utf-8", "replace")


@router.get("/dead-letters", response_model=list[DeadLetter], summary="Dead letters (operators)")
async def list_dead_letters(principal: PrincipalDep, access: AccessDep, conn: ConnDep,
                            consumer: str | None = Query(None, max_length=100),
                            status: str | None = Query("dead",
                                                       pattern="^(dead|replayed|discarded)$"),
                            limit: int = Query(100, ge=1, le=1000)) -> list[DeadLetter]:
    await _operator(conn, access, principal, "read", "dead_letters", consumer)
    return [DeadLetter.model_validate(_row(r)) for r in
            await conn.fetch(_LIST, consumer, status, limit)]


@router.get("/dead-letters/{letter_id}", response_model=DeadLetterDetail,
            summary="One dead letter, with the event (operators)")
async def show_dead_letter(letter_id: int, principal: PrincipalDep, access: AccessDep,
                           conn: ConnDep) -> DeadLetterDetail:
    await _operator(conn, access, principal, "read", "dead_letter", str(letter_id))
    row = await _found(conn, letter_id)
    return DeadLetterDetail.model_validate(
        {**_row(row), "key": _text(row["event_key"]), "value": _text(row["event_value"]),
         "headers": {n: _text(v) for n, v in zip(row["header_names"] or (),
                                                 row["header_values"] or (), strict=True)}})


@router.post("/dead-letters/{letter_id}/replay", response_model=ReplayOutcome,
             summary="Replay one dead letter through the inbox (operators)")
async def replay_one(letter_id: int, request: Request, principal: PrincipalDep,
                     access: AccessDep, uow: UowDep) -> ReplayOutcome:
    async with uow:
        await _operator(uow, access, principal, "write", "dead_letter", str(letter_id))
        _open(await _found(uow.conn, letter_id))
        outcome = await _replay(request, uow, principal, letter_id, 1)
        await uow.commit()
    return outcome


@router.post("/dead-letters/replay", response_model=ReplayOutcome,
             summary="Replay every open dead letter, oldest first, up to `limit` (operators)")
async def replay_all(request: Request, principal: PrincipalDep, access: AccessDep, uow: UowDep,
                     limit: int = Query(100, ge=1, le=1000)) -> ReplayOutcome:
    async with uow:
        await _operator(uow, access, principal, "write", "dead_letters", None)
        outcome = await _replay(request, uow, principal, None, limit)
        await uow.commit()
    return outcome


@router.post("/dead-letters/{letter_id}/discard", response_model=DeadLetter,
             summary="Discard one dead letter, with the reason (operators)")
async def discard(letter_id: int, body: Discard, principal: PrincipalDep, access: AccessDep,
                  uow: UowDep) -> DeadLetter:
    async with uow:
        await _operator(uow, access, principal, "write", "dead_letter", str(letter_id))
        _open(await _found(uow.conn, letter_id))
        await uow.conn.execute(_RESOLVE, letter_id, "discarded", principal.user_id, body.reason)
        row = await _found(uow.conn, letter_id)
        await uow.commit()
    return DeadLetter.model_validate(_row(row))


@router.get("/outbox/parked", response_model=list[ParkedRow],
            summary="Outbox rows the relay set aside (operators)")
async def list_parked(principal: PrincipalDep, access: AccessDep, conn: ConnDep,
                      limit: int = Query(100, ge=1, le=1000)) -> list[ParkedRow]:
    await _operator(conn, access, principal, "read", "outbox_parked", None)
    return [ParkedRow.model_validate(dict(r)) for r in await conn.fetch(_PARKED, limit)]


@router.post("/outbox/parked/{seq}/replay", response_model=Requeued,
             summary="Re-queue a parked row and the rows held behind it (operators)")
async def requeue_one(seq: int, principal: PrincipalDep, access: AccessDep,
                      uow: UowDep) -> Requeued:
    return await _requeue(uow, access, principal, str(seq), _REQUEUE, seq)


@router.post("/outbox/parked/replay", response_model=Requeued,
             summary="Re-queue every parked row (operators)")
async def requeue_all(principal: PrincipalDep, access: AccessDep, uow: UowDep) -> Requeued:
    return await _requeue(uow, access, principal, None, _REQUEUE_ALL)


async def _requeue(uow: UnitOfWork, access: Access, principal: Principal, object_id: str | None,
                   sql: str, *args: Any) -> Requeued:
    async with uow:
        await _operator(uow, access, principal, "write", "outbox_parked", object_id)
        status = await uow.conn.execute(sql, *args)
        await uow.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)  # wake the relay
        await uow.commit()
    return Requeued(requeued=int(status.split()[-1]))


async def _replay(request: Request, uow: UnitOfWork, principal: Principal,
                  letter_id: int | None, limit: int) -> ReplayOutcome:
    consumer: InboxConsumer = request.app.state.consumer
    outcome = ReplayOutcome(replayed=[], failed={})
    for (lid,) in await uow.conn.fetch(_LOCK_OPEN, letter_id, limit):
        row = await uow.conn.fetchrow(_ONE, lid)
        events, audits = len(uow.events), len(uow.audits)
        try:
            async with uow.conn.transaction():  # a savepoint: one failure undoes only itself
                applied = await consumer.replay(uow, _record(row))
                await uow.conn.execute(_RESOLVE, lid, "replayed", principal.user_id,
                                       "applied" if applied else "nothing to apply: applied "
                                       "before, or not this service's event")
            outcome.replayed.append(lid)
        except Exception as exc:
            del uow.events[events:], uow.audits[audits:]
            reason = f"replay failed: {exc!r}"[:2000]
            await uow.conn.execute(_FAILED_AGAIN, lid, reason)
            outcome.failed[lid] = reason
    return outcome


def _record(row: asyncpg.Record) -> ConsumerRecord:
    value, key = row["event_value"], row["event_key"]
    return ConsumerRecord(
        topic=row["topic"], partition=row["partition"], offset=row["kafka_offset"], timestamp=0,
        timestamp_type=0, key=key, value=value, checksum=None,
        serialized_key_size=len(key or b""), serialized_value_size=len(value or b""),
        headers=list(zip(row["header_names"] or (), row["header_values"] or (), strict=True)))


async def _found(conn: asyncpg.Connection, letter_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(_ONE, letter_id)
    if row is None:
        raise Problem(404, "Not Found", "no such dead letter")
    return row


def _open(row: asyncpg.Record) -> None:
    if row["status"] != "dead":
        raise Problem(409, "Already resolved", f"the dead letter is {row['status']}")


def _row(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "event_type": _text(row["event_type"])}
