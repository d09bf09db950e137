"""Events notifications consumes."""

from __future__ import annotations

from contracts.events.access import BreakGlassAccessed
from contracts.events.referral import ReferralRequested
from kit.clock import now
from kit.inbox import HandlerContext, Handlers

from . import domain, store


async def on_referral_requested(event: ReferralRequested, ctx: HandlerContext) -> None:
    item = domain.for_referral(event, now())
    if await store.add(ctx.uow.conn, item, ctx.envelope.municipality):
        ctx.uow.record(*item.events)


async def on_break_glass(event: BreakGlassAccessed, ctx: HandlerContext) -> None:
    item = domain.for_break_glass(event, now())
    if await store.add(ctx.uow.conn, item, ctx.envelope.municipality):
        ctx.uow.record(*item.events)


HANDLERS: Handlers = {ReferralRequested: [on_referral_requested],
                      BreakGlassAccessed: [on_break_glass]}
