"""What outreach does besides answering requests.

Consumed: MeetingDecided (start_outreach: a case opens for each person, or the named case is
now also the meeting's; the kit's views already know who its pledged members are),
DecisionCorrected (a case the superseded decision opened ends, unless the correcting decision,
published just before it on the same partition, took it over) and
ConsentGranted (a live case of the person whose consent covers its office and the receiver is
handed over). Periodic: ContactOverdue (timers.py).
"""

from __future__ import annotations

from contracts.events.intake import ConsentGranted
from contracts.events.meetings import DecisionCorrected, MeetingDecided
from kit import views, workdays
from kit.clock import now
from kit.inbox import HandlerContext, Handlers

from . import store, timers
from .domain import cases
from .usecases import casework, common


async def on_decided(e: MeetingDecided, ctx: HandlerContext) -> None:
    if e.kind != "start_outreach":
        return
    conn, m, at = ctx.uow.conn, ctx.envelope.municipality, now()
    named = await store.case(conn, m, e.outreach_case_id, for_update=True) if e.outreach_case_id else None
    # The case it names becomes the meeting's only if it is about a person the meeting decided on
    # (what is tabled): an id in a decision's body is no ground for its members to read a case.
    existing = [named] if named and named["person_id"] in e.person_ids else []
    for person_id in e.person_ids:
        existing += await store.live_cases_of(conn, m, person_id)
    for row in filter(None, existing):  # continues: the meeting's members read it from now
        taken_over = e.supersedes is not None and row["origin_id"] == e.supersedes
        if e.meeting_id not in row["meeting_ids"] or taken_over:
            await store.save(conn, m, store.as_case(row), at,
                             meeting_ids=tuple(dict.fromkeys((*row["meeting_ids"], e.meeting_id))),
                             **({"origin_id": e.decision_id} if taken_over else {}))
    known = {row["person_id"] for row in filter(None, existing)}
    for person_id in dict.fromkeys(p for p in e.person_ids if p not in known):
        case, events = cases.start(e.lead_agency or common.DESK, "meeting", at, e.decision_id,
                                   person_id, worker=e.lead_worker)
        if await store.add_case(conn, m, case, at, worker=e.lead_worker, origin="meeting",
                                origin_id=e.decision_id, meeting_ids=(e.meeting_id,),
                                contact_due_at=workdays.deadline(at, common.FIRST_CONTACT_DAYS)):
            ctx.uow.record(*events)


async def on_corrected(e: DecisionCorrected, ctx: HandlerContext) -> None:
    """The decision no longer holds: what it alone opened ends, with the reason on record (the
    contact log stays readable; a case the new decision names was re-pointed to it above)."""
    conn, m, at = ctx.uow.conn, ctx.envelope.municipality, now()
    for row in await store.live_cases_from(conn, m, e.decision_id):
        ended, events = cases.move(store.as_case(row), "end", at, "decision_corrected")
        await store.save(conn, m, ended, at, end_reason="decision_corrected")
        ctx.uow.record(*events)


async def on_consent(e: ConsentGranted, ctx: HandlerContext) -> None:
    consent = views.granted(e)
    for row in await store.live_cases_of(ctx.uow.conn, ctx.envelope.municipality, e.person_id):
        await casework.hand_over_if_covered(ctx.uow, row, e.consent_id, consent)


HANDLERS: Handlers = {MeetingDecided: [on_decided], DecisionCorrected: [on_corrected],
                      ConsentGranted: [on_consent]}
PERIODIC = (timers.PERIODIC,)
