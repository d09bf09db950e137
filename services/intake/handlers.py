"""What intake does besides answering requests.

Consumed: OutreachHandedOver (issue 12): the person outreach reached consented, so a
consultation opens at the outreach office, with the id outreach chose, on the common hand-over
form naming the consent; it carries only what the person agreed to share (the categories) —
the contact log and what partners reported stay in outreach. The same domain rules as a
window's consultation apply: the consent must cover the receiver now.
Periodic: announce consents whose end date has passed, so every service's view records it.
Access already stops at the end date without this event: the policy compares with the clock.
"""

from __future__ import annotations

import os

from contracts.events.outreach import OutreachHandedOver
from kit import audit, views
from kit.clock import now
from kit.inbox import HandlerContext, Handlers
from kit.periodic import NewUow, Periodic

from .categories import load_categories
from .domain import consents as domain
from .domain import consultations
from .store import consents as store
from .store import consultations as consultation_store
from .store import persons as person_store

CATEGORIES = frozenset(load_categories(os.environ.get("INTAKE_CATEGORIES_FILE")))
FROM_OUTREACH = "アウトリーチからの引継ぎ（本人同意あり）"  # no free text crosses from outreach


async def on_handed_over(e: OutreachHandedOver, ctx: HandlerContext) -> None:
    conn, m = ctx.uow.conn, ctx.envelope.municipality
    if await consultation_store.get(conn, e.consultation_id, m) is not None:
        return  # opened already
    here = e.to_office == e.office
    to = await views.office(conn, e.to_office)
    named = [(c.id, c.as_policy()) for c in await store.of_persons(conn, [e.person_id])]
    c = consultations.receive(
        received_at=e.handed_over_at, channel="outreach", receiving_division=e.office,
        received_by=f"outreach:{e.office}", main_complaint=FROM_OUTREACH,
        categories=e.categories, urgency="normal", known_categories=CATEGORIES,
        destination=consultations.Destination("handled_here" if here else "agency",
                                              None if here else e.to_office),
        person_ids=(e.person_id,), present_ids=(e.person_id,),
        handover=consultations.Handover(FROM_OUTREACH, FROM_OUTREACH, (e.consent_id,)),
        consents=named, to=None if here else to, now=now(), consultation_id=e.consultation_id)
    copy = None
    if to is not None and not here:  # the receiver's own copy, as a window's hand-over makes
        persons = await person_store.summaries(conn, [e.person_id])
        copy = consultation_store.Copy(
            to.office_id, to.legal_body_id, [e.consent_id], now(),
            consultations.handed_over_copy(c, to, [persons[e.person_id]], named, now()))
    await consultation_store.add(conn, c, m, copy)
    ctx.uow.record(*c.events)
    # A record about a person is created: on record like a window's, with the write.
    ctx.uow.audit(audit.by_event(
        ctx.uow.service, ctx.envelope, e.office, "write", "consultation", str(c.id), (e.person_id,),
        f"opened from outreach's hand-over, with consent {e.consent_id}"))

async def announce_expired_consents(new_uow: NewUow) -> None:
    async with new_uow() as uow:
        at = now()
        for record in await store.due_for_expiry(uow.conn, at):
            expired = domain.expire(record, at)
            if expired:
                uow.record(expired)
                # intake's own view: at once, as for a grant or a withdrawal (app.py)
                await views.apply_consent_ended(uow.conn, record.id, expired.expired_at)
                await store.mark_expiry_announced(uow.conn, record.id, at)
        await uow.commit()


HANDLERS: Handlers = {OutreachHandedOver: [on_handed_over]}
PERIODIC = (Periodic("announce expired consents", 30.0, announce_expired_consents),)
