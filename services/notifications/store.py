"""notifications' SQL for inboxes."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from kit import outbox

from .domain import InboxItem, Message

# An event's items, one per recipient (a redelivered event's are there already: only the new
# ones are returned), and the webhook subscribers of the event's type ($13; webhooks/), read in
# the same round trip: one per event instead of one per item plus one.
# The items, their NotificationDelivered events (keyed by the item's id: written only for the
# items new here, not for a redelivered event's) and the type's webhook subscribers, in one
# statement; the relay is woken as the transaction commits.
_FILE = f"""
WITH filed AS (
    INSERT INTO inbox_items (municipality, id, recipient_kind, recipient_id, about_type, about_id,
        title, body, urgency, created_at, link, event_id)
    SELECT $1, i.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[],
        $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::uuid[]) AS i
    ON CONFLICT (municipality, recipient_kind, recipient_id, event_id) DO NOTHING
    RETURNING id),
announced AS ({outbox.insert(14, only_if="r.key IN (SELECT id::text FROM filed)")})
SELECT 'item' AS what, id, NULL::boolean AS support_meeting_member FROM filed
UNION ALL
SELECT 'subscriber', id, support_meeting_member FROM webhook_subscribers
WHERE municipality = $1 AND $13 = ANY(event_types)
UNION ALL
SELECT 'notified', NULL, NULL FROM ({outbox.NOTIFY.format(channel="$21", inserted="announced")}) n
"""
_LIST = """
SELECT id, recipient_kind, recipient_id, about_type AS kind, about_type, about_id, title, body,
    link, urgency, created_at, read_at
FROM inbox_items
WHERE municipality = $1 AND recipient_kind = $2 AND recipient_id = $3
  AND ($4::boolean IS NOT TRUE OR read_at IS NULL)
  AND (cardinality($5::text[]) = 0 OR about_type = ANY($5::text[]))
ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7
"""
_UNREAD = """
SELECT count(*) FROM inbox_items
WHERE municipality = $1 AND recipient_kind = $2 AND recipient_id = $3 AND read_at IS NULL
"""
_MARK = """
UPDATE inbox_items SET read_at = coalesce(read_at, $5)
WHERE municipality = $1 AND recipient_kind = $2 AND recipient_id = $3
  AND ($4::uuid IS NULL OR id = $4)
RETURNING id
"""
_MEETING_MEMBERS = "SELECT user_id FROM meeting_members_view WHERE meeting_id = ANY($1::uuid[])"
_KEEP_NOTICE = """
INSERT INTO meeting_notices (meeting_id, event_id, municipality, kind, about_id, title, body, link,
    urgency, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (meeting_id, event_id) DO NOTHING
"""
_NOTICES = """
SELECT kind, event_id, about_id, title, body, link, urgency, created_at FROM meeting_notices
WHERE meeting_id = $1 AND municipality = $2 ORDER BY created_at
"""


async def file(conn: asyncpg.Connection, items: list[InboxItem], municipality: str,
               subscribers_of: str | None, delivered: list[outbox.Row]
               ) -> tuple[set[uuid.UUID], list[asyncpg.Record]]:
    """File the items with their `delivered` events (outbox rows, keyed by item); return the ids
    of those new and the webhook subscribers (id, support_meeting_member) of event type
    `subscribers_of` (None: none are read)."""
    ms = [i.message for i in items]
    rows = await conn.fetch(
        _FILE, municipality, [i.id for i in items], [i.recipient_kind for i in items],
        [i.recipient_id for i in items], [m.kind for m in ms], [m.about_id for m in ms],
        [m.title for m in ms], [m.body for m in ms], [m.urgency for m in ms],
        [m.created_at for m in ms], [m.link for m in ms], [m.event_id for m in ms],
        subscribers_of, *outbox.columns(delivered), outbox.NOTIFY_CHANNEL)
    return ({r["id"] for r in rows if r["what"] == "item"},
            [r for r in rows if r["what"] == "subscriber"])


async def listing(conn: asyncpg.Connection, municipality: str, kind: str, recipient: str,
                  unread_only: bool, kinds: list[str], limit: int, offset: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_LIST, municipality, kind, recipient, unread_only,
                                              kinds, limit, offset)]


async def unread(conn: asyncpg.Connection, municipality: str, kind: str, recipient: str) -> int:
    return int(await conn.fetchval(_UNREAD, municipality, kind, recipient))


async def mark_read(conn: asyncpg.Connection, municipality: str, kind: str, recipient: str,
                    item_id: uuid.UUID | None, at: Any) -> int:
    """Mark one item (or, with None, all) read; the first read's time is kept."""
    return len(await conn.fetch(_MARK, municipality, kind, recipient, item_id, at))


async def keep_notice(conn: asyncpg.Connection, meeting_id: uuid.UUID, msg: Message,
                      municipality: str) -> None:
    """Keep what a meeting's members were told, for those who join later (rule later_members)."""
    await conn.execute(_KEEP_NOTICE, meeting_id, msg.event_id, municipality, msg.kind, msg.about_id,
                       msg.title, msg.body, msg.link, msg.urgency, msg.created_at)


async def notices(conn: asyncpg.Connection, meeting_id: uuid.UUID, municipality: str) -> list[Message]:
    return [Message(**dict(r)) for r in await conn.fetch(_NOTICES, meeting_id, municipality)]


async def meeting_members(conn: asyncpg.Connection, meeting_ids: list[Any]) -> list[str]:
    return [r["user_id"] for r in await conn.fetch(_MEETING_MEMBERS, meeting_ids)] if meeting_ids else []
