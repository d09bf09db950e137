"""Events meetings consumes: intake's registrations and consultations, for its view of who
holds which case (only a holder tables it)."""

from __future__ import annotations

from contracts.events.intake import ConsultationReceived, PersonRegistered
from kit import holders
from kit.inbox import HandlerContext, Handlers

from .store import meetings as store


async def _registered(e: PersonRegistered, ctx: HandlerContext) -> None:
    if e.registered_agency:
        await store.add_holders(ctx.uow.conn, ctx.envelope.municipality,
                                [(e.person_id, e.registered_agency)])


async def _received(e: ConsultationReceived, ctx: HandlerContext) -> None:
    held = [(e.consultation_id, office) for office in holders.of_consultation(
        e.receiving_division, e.destination_kind, e.destination_agency)]
    for person_id in e.person_ids:
        held += [(person_id, office) for office in holders.of_person_on(
            e.receiving_division, e.destination_kind, e.destination_agency,
            person_id in e.present_ids)]
    await store.add_holders(ctx.uow.conn, ctx.envelope.municipality, held)
    await store.link_persons(ctx.uow.conn, ctx.envelope.municipality, e.consultation_id,
                             list(e.person_ids))


HANDLERS: Handlers = {PersonRegistered: [_registered], ConsultationReceived: [_received]}
