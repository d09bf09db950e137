"""ContactOverdue on the city's working days (kit/workdays.py), raised by a periodic job once
per due date: a case's first contact is due FIRST_CONTACT_WORKING_DAYS after it starts, and a
planned attempt GRACE_WORKING_DAYS after its day (usecases/casework.due_after); logging an attempt sets
the next due date and clears the mark.
"""

from __future__ import annotations

import os

from contracts.events.outreach import ContactOverdue
from kit.clock import now
from kit.periodic import NewUow, Periodic

from . import store

EVERY_SECONDS = float(os.environ.get("OUTREACH_TIMER_SECONDS", "60"))


async def raise_overdue(new_uow: NewUow) -> None:
    async with new_uow() as uow:
        at = now()
        for r in await store.mark_overdue(uow.conn, uow.municipality, at):
            uow.record(ContactOverdue(outreach_case_id=r["id"], office=r["office"], at=at,
                                      identified=r["identified"], worker=r["worker"],
                                      due_at=r["contact_due_at"]))
        await uow.commit()


PERIODIC = Periodic("raise outreach contact timers", EVERY_SECONDS, raise_overdue)
