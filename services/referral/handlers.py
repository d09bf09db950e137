"""Events referral consumes."""

from __future__ import annotations

from contracts.events.intake import ConsultationReceived
from kit.clock import now
from kit.inbox import HandlerContext, Handlers

from . import domain, store


async def on_consultation_received(event: ConsultationReceived, ctx: HandlerContext) -> None:
    referral = domain.open_routing_task(event, now())
    if referral is None:
        return
    if await store.add(ctx.uow.conn, referral, ctx.envelope.municipality):
        ctx.uow.record(*referral.events)


HANDLERS: Handlers = {ConsultationReceived: [on_consultation_received]}
