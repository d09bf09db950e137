"""Events notifications consumes: every type with a rule in rules.json, by one handler that
fills the inboxes and queues the webhook deliveries, in the one inbox transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from contracts.events.meetings import MemberJoined
from contracts.registry import SPECS
from kit import outbox
from kit.clock import now
from kit.inbox import Handler, HandlerContext, Handlers

from . import domain, settings, store
from .email.sender import Mailer
from .rules import Rule, load, meeting_ids, recipients
from .webhooks import routing
from .webhooks import store as webhooks

RULES = load()
SETTINGS = settings.load()
MAILER = Mailer(SETTINGS)


def _handler(rule: Rule) -> Handler:
    async def on_event(event: Any, ctx: HandlerContext) -> None:
        conn, env, at = ctx.uow.conn, ctx.envelope, now()
        msg = domain.message(rule, event, env, at)
        members = await store.meeting_members(conn, meeting_ids(rule, event))
        to = recipients(rule, event) + [("user", m) for m in members]
        subscribers = await _deliver(ctx, domain.items(msg, to), at, rule.event_type)
        if rule.later_members:
            for meeting_id in meeting_ids(rule, event):
                await store.keep_notice(conn, meeting_id, msg, env.municipality)
        body = None
        for sub in subscribers:
            if routing.hears(env, sub["support_meeting_member"]):
                body = body or routing.cloudevent(env, event)
                await webhooks.enqueue(conn, env.municipality, routing.delivery_id(env.id, sub["id"]),
                                       sub["id"], env.id, rule.event_type, body, at, msg.about_id)
    on_event.__name__ = f"notify_{rule.event_type}"
    return on_event


async def _deliver(ctx: HandlerContext, items: list[domain.InboxItem], at: datetime,
                   subscribers_of: str | None = None) -> list[Any]:
    """File the items and queue their e-mails; return the webhook subscribers of
    `subscribers_of`, read in the same statement."""
    # Redelivered after a crash: the items are there already, and so are their events (written
    # with the items that are new, enveloped here in the event's span as the unit of work would).
    delivered = outbox.rows_for([item.delivered() for item in items], ctx.uow.service,
                                ctx.uow.municipality)
    new, subscribers = await store.file(ctx.uow.conn, items, ctx.envelope.municipality,
                                        subscribers_of, delivered)
    for item in items:
        if item.id in new:
            await MAILER.queue(ctx.uow.conn, item, ctx.envelope.municipality, at)
    return subscribers


async def tell_joining_member(e: MemberJoined, ctx: HandlerContext) -> None:
    """A member joining a meeting hears what its members were told before (a later_members
    rule: the meeting was scheduled). The same item id as had they been a member then: told once."""
    at = now()
    kept = await store.notices(ctx.uow.conn, e.meeting_id, ctx.envelope.municipality)
    await _deliver(ctx, [item for msg in kept
                         for item in domain.items(replace(msg, created_at=at), [("user", e.user_id)])], at)


_MODELS = {s.name: s.model for s in SPECS}
HANDLERS: Handlers = {_MODELS[name]: [_handler(rule)] for name, rule in RULES.items()}
HANDLERS.setdefault(MemberJoined, []).append(tell_joining_member)
