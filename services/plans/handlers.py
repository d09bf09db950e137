"""Events plans consumes.

- intake's ConsultationReceived / PersonRegistered: who holds which case (the kit's holders
  view, kit/views.py).
- meetings' MeetingDecided: the 重層的支援会議's decisions, kept for the plan's commands to rest
  on; an assign_lead puts a lead into the ledger; a decision acting on a case nobody leads
  starts the lead watch; a correction (`supersedes`) withdraws what rested on the superseded
  decision and lets the new one act. A 支援会議's decisions (confidential-106-6) are ignored:
  nothing consent-based may rest on them, and plans rest on consent.
- intake's ConsentWithdrawn / ConsentExpired: after the kit's consent view took it (access stops
  at once), the lead of every open plan whose team the consent no longer covers is asked to
  review it (PlanReviewDue, reason consent_changed).
"""

from __future__ import annotations

import uuid

from contracts.events.intake import ConsentExpired, ConsentWithdrawn
from contracts.events.meetings import MeetingDecided
from contracts.events.plans import PlanReviewDue
from kit import views
from kit.clock import now
from kit.inbox import HandlerContext, Handlers
from kit.service import merge_handlers
from kit.uow import UnitOfWork

from . import domain, ledger, ledger_store, store, timers, usecases
from .ledger import Entry


async def _decided(e: MeetingDecided, ctx: HandlerContext) -> None:
    if e.meeting_kind == "support_meeting":
        return
    uow = ctx.uow
    if not await store.add_decision(uow.conn, ctx.envelope.municipality, e):
        return
    new = await store.decision(uow.conn, e.decision_id)
    assert new is not None
    if e.supersedes is not None:
        await _correct(uow, e.supersedes, new)
    if e.kind == "assign_lead" and e.lead_agency and e.lead_worker and e.supersedes is None:
        for person_id in e.person_ids:
            await usecases.record_lead(uow, person_id, Entry(e.lead_agency, e.lead_worker,
                                                             e.decided_at, e.decision_id))
    if e.kind in ledger.NEEDS_A_LEAD:
        for person_id in e.person_ids:
            await ledger_store.watch(uow.conn, uow.municipality, person_id, e.decision_id,
                                     e.meeting_id, ledger.lead_due(e.decided_at, timers.LEAD_GRACE))


async def _correct(uow: UnitOfWork, old: uuid.UUID, new: domain.Decision) -> None:
    """The superseded decision no longer holds; the new one acts in its place."""
    await store.supersede(uow.conn, old, new.decision_id)
    for entry in await ledger_store.withdraw(uow.conn, old):  # the corrected lead, from then on
        if new.kind == "assign_lead" and new.lead_agency and new.lead_worker:
            previous = Entry(entry["lead_agency"], entry["lead_worker"], entry["effective_at"], old)
            await usecases.record_lead(uow, entry["person_id"], Entry(
                new.lead_agency, new.lead_worker, entry["effective_at"], new.decision_id), previous)
    for assessment_id in await store.assessments_resting_on(uow.conn, old):
        keeps = new.kind == "approve_assessment" and new.assessment_id == assessment_id
        await store.set_assessment(uow.conn, assessment_id, "approved" if keeps else "completed",
                                   new.decision_id if keeps else None, now())
    for plan_id in await store.plans_resting_on(uow.conn, old):
        row = await store.plan_row(uow.conn, plan_id, uow.municipality, for_update=True)
        assert row is not None
        vs = await store.versions(uow.conn, plan_id)
        plan, events = domain.superseded(store.plan_of(row, vs), old, new, now())
        if new.decision_id in plan.approved.values():
            await usecases.apply_approval(uow, vs, plan, new)
            continue
        await store.save(uow.conn, plan, vs, now())
        uow.record(*events)
        if plan.closed_by is None:
            await ledger_store.drop_timers(uow.conn, plan_id, "connection")
        if plan.in_force is None:
            await ledger_store.drop_timers(uow.conn, plan_id, "review")


async def _consent_ended(person_id: uuid.UUID, uow: UnitOfWork) -> None:
    at = now()
    consents = await views.consents_for(uow.conn, [person_id])
    for row in await store.open_plans_with_team(uow.conn, person_id):
        held = await views.holding_every(uow.conn, row["person_ids"]) | {row["office"]}
        uncovered = []
        for office_id in sorted(set(row["team"]) - held):
            office = await views.office(uow.conn, office_id)
            if office is None or not any(c.covers(office.place, "support", at) for c in consents):
                uncovered.append(office_id)
        if uncovered:
            vs = await store.versions(uow.conn, row["id"])
            version = store.plan_of(row, vs).in_force or row["latest"]
            agency, worker = await timers.lead_now(uow, row, at)
            uow.record(PlanReviewDue(plan_id=row["id"], version=version, reason="consent_changed",
                                     lead_agency=agency, lead_worker=worker, due_at=at,
                                     agencies=tuple(uncovered)))


async def _withdrawn(e: ConsentWithdrawn, ctx: HandlerContext) -> None:
    await _consent_ended(e.person_id, ctx.uow)


async def _expired(e: ConsentExpired, ctx: HandlerContext) -> None:
    await _consent_ended(e.person_id, ctx.uow)


HANDLERS: Handlers = merge_handlers(views.HOLDER_HANDLERS, {
    MeetingDecided: [_decided], ConsentWithdrawn: [_withdrawn], ConsentExpired: [_expired]})
PERIODIC = (timers.PERIODIC,)
