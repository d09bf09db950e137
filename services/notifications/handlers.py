"""Events notifications consumes: every type with a rule in rules.json, by one handler that
fills the inboxes and queues the webhook deliveries, in the one inbox transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg

from contracts.envelope import Envelope
from contracts.events.meetings import MemberJoined
from contracts.registry import SPECS
from kit import outbox
from kit.clock import now
from kit.inbox import HandlerContext, Handlers, Staged
from kit.uow import UnitOfWork

from . import domain, settings, store
from .email.sender import Mailer
from .rules import Rule, load, meeting_ids, recipients
from .webhooks import routing
from .webhooks import store as webhooks

RULES = load()
SETTINGS = settings.load()
MAILER = Mailer(SETTINGS)


@dataclass(frozen=True)
class _Filing:
    """One event's inbox items, with their NotificationDelivered events as outbox rows."""
    items: list[domain.InboxItem]
    delivered: list[outbox.Row]
    municipality: str
    at: datetime


@dataclass(frozen=True)
class _Notice:
    """One event as staged by its rule's handler: what it tells whom."""
    event: Any
    envelope: Envelope
    msg: domain.Message
    filing: _Filing


def _handler(rule: Rule) -> Staged:
    async def stage(event: Any, ctx: HandlerContext) -> _Notice:
        env, at = ctx.envelope, now()
        msg = domain.message(rule, event, env, at)
        members = await store.meeting_members(ctx.uow.conn, meeting_ids(rule, event))
        to = recipients(rule, event) + [("user", m) for m in members]
        return _Notice(event, env, msg, _filing(ctx, domain.items(msg, to), at))

    async def write(notices: list[_Notice], uow: UnitOfWork) -> None:
        conn = uow.conn
        subscribers = await _file(conn, [n.filing for n in notices], rule.event_type)
        for n in notices:
            env = n.envelope
            if rule.later_members:
                for meeting_id in meeting_ids(rule, n.event):
                    await store.keep_notice(conn, meeting_id, n.msg, env.municipality)
            body = None
            for sub in subscribers:
                if routing.hears(env, sub["support_meeting_member"]):
                    body = body or routing.cloudevent(env, n.event)
                    await webhooks.enqueue(conn, env.municipality,
                                           routing.delivery_id(env.id, sub["id"]), sub["id"],
                                           env.id, rule.event_type, body, n.filing.at,
                                           n.msg.about_id)
    stage.__name__ = f"notify_{rule.event_type}"
    # Staged: a fetch of many events files all their items in one statement (kit/inbox.py).
    return Staged(stage, write)


def _filing(ctx: HandlerContext, items: list[domain.InboxItem], at: datetime) -> _Filing:
    # Redelivered after a crash: the items are there already, and so are their events (written
    # with the items that are new, enveloped here in the event's span as the unit of work would).
    delivered = outbox.rows_for([item.delivered() for item in items], ctx.uow.service,
                                ctx.uow.municipality)
    return _Filing(items, delivered, ctx.envelope.municipality, at)


async def _file(conn: asyncpg.Connection, filings: list[_Filing],
                subscribers_of: str | None = None) -> list[Any]:
    """File the items (every event's in one statement: one municipality, the consumer's) and
    queue their e-mails; return the webhook subscribers of `subscribers_of`, read in the same
    statement."""
    new, subscribers = await store.file(conn, [i for f in filings for i in f.items],
                                        filings[0].municipality, subscribers_of,
                                        [row for f in filings for row in f.delivered])
    for f in filings:
        for item in f.items:
            if item.id in new:
                await MAILER.queue(conn, item, f.municipality, f.at)
    return subscribers


async def tell_joining_member(e: MemberJoined, ctx: HandlerContext) -> None:
    """A member joining a meeting hears what its members were told before (a later_members
    rule: the meeting was scheduled). The same item id as had they been a member then: told once."""
    at = now()
    kept = await store.notices(ctx.uow.conn, e.meeting_id, ctx.envelope.municipality)
    items = [item for msg in kept
             for item in domain.items(replace(msg, created_at=at), [("user", e.user_id)])]
    await _file(ctx.uow.conn, [_filing(ctx, items, at)])


_MODELS = {s.name: s.model for s in SPECS}
HANDLERS: Handlers = {_MODELS[name]: [_handler(rule)] for name, rule in RULES.items()}
HANDLERS.setdefault(MemberJoined, []).append(tell_joining_member)
