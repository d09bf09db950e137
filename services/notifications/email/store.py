"""The e-mail outbox's SQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

_ENQUEUE = """
INSERT INTO email_outbox (id, municipality, item_id, user_id, address, message, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
"""
_CLAIM = """
UPDATE email_outbox SET next_attempt_at = $2 + make_interval(secs => $3)
WHERE id IN (SELECT id FROM email_outbox WHERE status = 'pending' AND next_attempt_at <= $2
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, address, message, failures, user_id,
    (SELECT about_type FROM inbox_items i WHERE i.id = item_id) AS about_type,
    (SELECT about_id FROM inbox_items i WHERE i.id = item_id) AS about_id
"""
_STAFF = "SELECT user_id FROM office_staff_view WHERE office_id = $1"


async def enqueue(conn: asyncpg.Connection, email_id: uuid.UUID, municipality: str,
                  item_id: uuid.UUID | None, user_id: str, address: str, message: bytes,
                  at: datetime) -> None:
    await conn.execute(_ENQUEUE, email_id, municipality, item_id, user_id, address, message, at)


async def staff(conn: asyncpg.Connection, office_id: str) -> list[str]:
    return [r[0] for r in await conn.fetch(_STAFF, office_id)]


async def claim(conn: asyncpg.Connection, limit: int, at: datetime, lease: float) -> list[asyncpg.Record]:
    return list(await conn.fetch(_CLAIM, limit, at, lease))


async def sent(conn: asyncpg.Connection, email_id: uuid.UUID, at: datetime) -> bool:
    """Mark it sent; False if it already was (two workers past one lease): the caller publishes
    its NotificationDelivered only on True, once per e-mail."""
    return await conn.fetchval(
        "UPDATE email_outbox SET status = 'sent', next_attempt_at = $2, last_error = NULL, "
        "sent_at = $2 WHERE id = $1 AND status <> 'sent' RETURNING 1", email_id, at) is not None


async def settle(conn: asyncpg.Connection, email_id: uuid.UUID, status: str, failures: int,
                 next_at: datetime, error: str | None) -> None:
    """A failed attempt: pending again after `next_at`, or failed for good."""
    await conn.execute(
        "UPDATE email_outbox SET status = $2::text, failures = $3, next_attempt_at = $4, "
        "last_error = $5 WHERE id = $1 AND status <> 'sent'", email_id, status, failures, next_at, error)


# -- the daily digest --------------------------------------------------------------------------
_DIGEST_USERS = """
SELECT user_id FROM digest_subscriptions s WHERE enabled AND municipality = $1
  AND NOT EXISTS (SELECT 1 FROM digests_sent d WHERE d.user_id = s.user_id AND d.day = $2)
"""
_UNREAD_BY_KIND = """
SELECT about_type, count(*) AS n FROM inbox_items
WHERE municipality = $2 AND read_at IS NULL
  AND ((recipient_kind = 'user' AND recipient_id = $1)
       OR (recipient_kind = 'office'
           AND recipient_id IN (SELECT office_id FROM office_staff_view WHERE user_id = $1)))
GROUP BY about_type
"""


async def digest_users(conn: asyncpg.Connection, municipality: str, day: date) -> list[str]:
    return [r[0] for r in await conn.fetch(_DIGEST_USERS, municipality, day)]


async def mark_digest(conn: asyncpg.Connection, user_id: str, day: date) -> bool:
    return await conn.fetchval("INSERT INTO digests_sent VALUES ($1, $2) ON CONFLICT DO NOTHING "
                               "RETURNING 1", user_id, day) is not None


async def unread_by_kind(conn: asyncpg.Connection, user_id: str, municipality: str) -> dict[str, int]:
    return {r[0]: r[1] for r in await conn.fetch(_UNREAD_BY_KIND, user_id, municipality)}


async def set_digest(conn: asyncpg.Connection, user_id: str, municipality: str, enabled: bool,
                     at: datetime) -> None:
    await conn.execute("INSERT INTO digest_subscriptions VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) "
                       "DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
                       user_id, municipality, enabled, at)


async def digest_enabled(conn: asyncpg.Connection, user_id: str) -> bool:
    return bool(await conn.fetchval("SELECT enabled FROM digest_subscriptions WHERE user_id = $1", user_id))
