"""Events notifications consumes: every type with a rule in rules.json, by one handler that
fills the inboxes and queues the webhook deliveries, in the one inbox transaction."""

from __future__ import annotations

from typing import Any

from contracts.registry import SPECS
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
        for item in domain.items(msg, to):
            # Redelivered after a crash: the item is there already, and so is its event.
            if await store.add(conn, item, env.municipality):
                ctx.uow.record(item.delivered())
                await MAILER.queue(conn, item, env.municipality, at)
        body = None
        for sub in await webhooks.subscribed_to(conn, env.municipality, rule.event_type):
            if routing.hears(env, sub["support_meeting_member"]):
                body = body or routing.cloudevent(env, event)
                await webhooks.enqueue(conn, env.municipality, routing.delivery_id(env.id, sub["id"]),
                                       sub["id"], env.id, rule.event_type, body, at, msg.about_id)
    on_event.__name__ = f"notify_{rule.event_type}"
    return on_event


_MODELS = {s.name: s.model for s in SPECS}
HANDLERS: Handlers = {_MODELS[name]: [_handler(rule)] for name, rule in RULES.items()}
