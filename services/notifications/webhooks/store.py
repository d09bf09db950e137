"""webhooks' SQL: subscribers, deliveries, attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

_SUBSCRIBER_COLUMNS = "id, url, event_types, support_meeting_member, created_by, created_at, " \
                      "previous_secret IS NOT NULL AS rotating"
_ENQUEUE = """
INSERT INTO webhook_deliveries (id, municipality, subscriber_id, event_id, event_type, body,
    next_attempt_at, created_at, about_id)
SELECT $1::uuid, $2::text, $3::uuid, $4::uuid, $5::text, $6::bytea, $7::timestamptz, $7::timestamptz,
    $8::uuid
ON CONFLICT (subscriber_id, event_id) DO NOTHING
"""
# A lease: the claimed deliveries are not due again until their attempt has had its time.
_CLAIM = """
UPDATE webhook_deliveries SET next_attempt_at = $3 + make_interval(secs => $4)
WHERE id IN (SELECT id FROM webhook_deliveries
             WHERE subscriber_id = $1 AND status = 'pending' AND next_attempt_at <= $3
             ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING id, event_type, body, failures, about_id
"""
_DUE_SUBSCRIBERS = """
SELECT DISTINCT subscriber_id FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= $1
"""
_DELIVERY_COLUMNS = """
id, subscriber_id, event_id, event_type, status, failures, next_attempt_at, last_error,
created_at, delivered_at, (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts
"""


async def add_subscriber(conn: asyncpg.Connection, municipality: str, sid: uuid.UUID, url: str,
                         types: list[str], member: bool, secret: bytes, by: str,
                         at: datetime) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"INSERT INTO webhook_subscribers (id, municipality, url, event_types, "
        f"support_meeting_member, secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        f"RETURNING {_SUBSCRIBER_COLUMNS}", sid, municipality, url, types, member, secret, by, at)
    return dict(row)


async def subscribers(conn: asyncpg.Connection, municipality: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT {_SUBSCRIBER_COLUMNS} FROM webhook_subscribers "
                            "WHERE municipality = $1 ORDER BY created_at", municipality)
    return [dict(r) for r in rows]


async def rotate(conn: asyncpg.Connection, municipality: str, sid: uuid.UUID,
                 secret: bytes | None) -> bool:
    """With a (sealed) secret: it signs from now on, beside the current one until retired. With None:
    retire the previous one."""
    sql = ("UPDATE webhook_subscribers SET previous_secret = secret, secret = $3 "
           "WHERE id = $1 AND municipality = $2 RETURNING 1") if secret else \
          ("UPDATE webhook_subscribers SET previous_secret = NULL "
           "WHERE id = $1 AND municipality = $2 RETURNING 1")
    args = (sid, municipality, secret) if secret else (sid, municipality)
    return await conn.fetchval(sql, *args) is not None


async def signing(conn: asyncpg.Connection, sid: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT url, secret, previous_secret FROM webhook_subscribers "
                               "WHERE id = $1", sid)


async def kept_in_clear(conn: asyncpg.Connection, prefix: bytes) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT id, secret, previous_secret FROM webhook_subscribers "
        "WHERE substr(secret, 1, $1) = $2 OR substr(previous_secret, 1, $1) = $2 FOR UPDATE",
        len(prefix), prefix))


async def reseal(conn: asyncpg.Connection, sid: uuid.UUID, secret: bytes, previous: bytes | None,
                 sealed: bytes, sealed_previous: bytes | None) -> None:
    """Replace what was read with its sealed form, unless it changed since (a rotation)."""
    await conn.execute(
        "UPDATE webhook_subscribers SET secret = $4, previous_secret = $5 "
        "WHERE id = $1 AND secret = $2 AND previous_secret IS NOT DISTINCT FROM $3",
        sid, secret, previous, sealed, sealed_previous)


async def enqueue(conn: asyncpg.Connection, municipality: str, delivery_id: uuid.UUID,
                  sid: uuid.UUID, event_id: uuid.UUID, event_type: str, body: bytes,
                  at: datetime, about_id: uuid.UUID) -> None:
    await conn.execute(_ENQUEUE, delivery_id, municipality, sid, event_id, event_type, body, at,
                       about_id)


async def due_subscribers(conn: asyncpg.Connection, at: datetime) -> list[uuid.UUID]:
    return [r[0] for r in await conn.fetch(_DUE_SUBSCRIBERS, at)]


async def claim(conn: asyncpg.Connection, sid: uuid.UUID, limit: int, at: datetime,
                lease_seconds: float) -> list[asyncpg.Record]:
    return list(await conn.fetch(_CLAIM, sid, limit, at, lease_seconds))


async def attempt(conn: asyncpg.Connection, delivery_id: uuid.UUID, at: datetime,
                  status_code: int | None, error: str | None, duration_ms: int) -> int:
    return int(await conn.fetchval(
        "INSERT INTO webhook_attempts SELECT $1::uuid, coalesce(max(n), 0) + 1, $2::timestamptz, $3::int, "
        "$4::text, $5::int "
        "FROM webhook_attempts WHERE delivery_id = $1 RETURNING n",
        delivery_id, at, status_code, error, duration_ms))


async def delivered(conn: asyncpg.Connection, delivery_id: uuid.UUID, at: datetime) -> bool:
    """Mark it delivered; False if it already was (two workers past one lease): the caller
    publishes its NotificationDelivered only on True, once per delivery id."""
    return await conn.fetchval(
        "UPDATE webhook_deliveries SET status = 'delivered', next_attempt_at = $2, last_error = NULL, "
        "delivered_at = $2 WHERE id = $1 AND status <> 'delivered' RETURNING 1",
        delivery_id, at) is not None


async def settle(conn: asyncpg.Connection, delivery_id: uuid.UUID, status: str, failures: int,
                 next_at: datetime, error: str | None) -> None:
    """A failed attempt: pending again after `next_at`, or parked."""
    await conn.execute(
        "UPDATE webhook_deliveries SET status = $2::text, failures = $3, next_attempt_at = $4, "
        "last_error = $5 WHERE id = $1 AND status <> 'delivered'",
        delivery_id, status, failures, next_at, error)


async def deliveries(conn: asyncpg.Connection, municipality: str, subscriber: uuid.UUID | None,
                     status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE municipality = $1 "
        "AND ($2::uuid IS NULL OR subscriber_id = $2) AND ($3::text IS NULL OR status = $3) "
        "ORDER BY created_at DESC, id LIMIT $4 OFFSET $5", municipality, subscriber, status, limit, offset)
    return [dict(r) for r in rows]


async def delivery(conn: asyncpg.Connection, municipality: str,
                   delivery_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d "
                              "WHERE municipality = $1 AND id = $2", municipality, delivery_id)
    if row is None:
        return None
    attempts = await conn.fetch("SELECT n, at, status_code, error, duration_ms FROM webhook_attempts "
                                "WHERE delivery_id = $1 ORDER BY n", delivery_id)
    return {**dict(row), "attempt_log": [dict(a) for a in attempts]}


async def replay(conn: asyncpg.Connection, municipality: str, delivery_id: uuid.UUID,
                 at: datetime) -> bool:
    """A parked delivery is tried again, with the same id, from zero failures."""
    return await conn.fetchval(
        "UPDATE webhook_deliveries SET status = 'pending', failures = 0, next_attempt_at = $3 "
        "WHERE municipality = $1 AND id = $2 AND status = 'parked' RETURNING 1",
        municipality, delivery_id, at) is not None
