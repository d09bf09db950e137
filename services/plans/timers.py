"""plans' timers, raised once each by a periodic job (as services/referral/timers.py):

- a review date of the plan in force has passed (services/plans/ledger.py: at the end of that
  day, or of the next working day): PlanReviewDue to the lead;
- a stay-connected contact after closure is due (every CONNECTION_EVERY_WORKING_DAYS working
  days, CONNECTION_CHECKS times): ConnectionCheckDue to the lead;
- a meeting acted on a case and nobody leads it LEAD_GRACE working days later: CaseWithoutLead
  to the coordinators.
The lead told is the one the ledger names now (an assign_lead after the approval counts), else
the plan's.
"""

from __future__ import annotations

import os
from datetime import datetime

from contracts.events.plans import CaseWithoutLead, ConnectionCheckDue, PlanReviewDue
from kit.clock import now
from kit.periodic import NewUow, Periodic
from kit.uow import UnitOfWork

from . import ledger, ledger_store

EVERY_SECONDS = float(os.environ.get("PLANS_TIMER_SECONDS", "60"))
LEAD_GRACE = int(os.environ.get("PLANS_LEAD_GRACE_WORKING_DAYS", ledger.LEAD_GRACE_WORKING_DAYS))


async def lead_now(uow: UnitOfWork, row: dict[str, object], at: datetime) -> tuple[str, str]:
    """Who to tell about a plan: the lead the ledger names at `at`, else the plan's."""
    person_ids = row["person_ids"]
    assert isinstance(person_ids, list)
    found = ledger.lead_at(await ledger_store.entries(uow.conn, person_ids[0]), at)
    return (found.lead_agency, found.lead_worker) if found else (str(row["lead_agency"]),
                                                                  str(row["lead_worker"]))


async def raise_due(new_uow: NewUow) -> None:
    async with new_uow() as uow:
        at = now()
        for r in await ledger_store.raise_timers(uow.conn, uow.municipality, at):
            agency, worker = await lead_now(uow, r, at)
            if r["kind"] == "review":
                uow.record(PlanReviewDue(plan_id=r["plan_id"], version=r["version"],
                                         reason="review_date", lead_agency=agency,
                                         lead_worker=worker, due_at=r["due_at"]))
            else:
                uow.record(ConnectionCheckDue(plan_id=r["plan_id"], check_number=r["seq"],
                                              lead_agency=agency, lead_worker=worker,
                                              due_at=r["due_at"]))
        for w in await ledger_store.watched_due(uow.conn, uow.municipality, at):
            if ledger.lead_at(await ledger_store.entries(uow.conn, w["person_id"]), at) is None:
                uow.record(CaseWithoutLead(person_id=w["person_id"], decision_id=w["decision_id"],
                                           meeting_id=w["meeting_id"], due_at=w["due_at"]))
            await ledger_store.settle(uow.conn, w["person_id"], w["decision_id"], at)
        await uow.commit()


PERIODIC = Periodic("raise plan timers", EVERY_SECONDS, raise_due)
