"""Events meetings consumes: intake's registrations and consultations, for the kit's view of
who holds which case (only a holder tables it: kit/views.py) and for which persons each
consultation names (a tabled consultation tables its persons)."""

from __future__ import annotations

from contracts.events.intake import ConsultationReceived
from kit import views
from kit.inbox import HandlerContext, Handlers
from kit.service import merge_handlers

from .store import meetings as store


async def _received(e: ConsultationReceived, ctx: HandlerContext) -> None:
    await store.link_persons(ctx.uow.conn, ctx.envelope.municipality, e.consultation_id,
                             list(e.person_ids))


HANDLERS: Handlers = merge_handlers(views.HOLDER_HANDLERS, {ConsultationReceived: [_received]})
