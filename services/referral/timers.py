"""Timers on the city's working days (kit/workdays.py), raised by a periodic job: a referral
unanswered after REFERRAL_ANSWER_WORKING_DAYS raises ReferralOverdue once; one completed without
an outcome, REFERRAL_FOLLOW_UP_WORKING_DAYS later, raises ReferralFollowUpDue once. Each is due
at midnight (JST) after its last working day, so holidays and the 12/29-1/3 closure never count.
A placement's check-ins (1 week, 1, 3 and 6 months, each on a working day) raise FollowUpDue
once each until the placement is stable.
"""

from __future__ import annotations

import os

from contracts.events.referral import FollowUpDue, ReferralFollowUpDue, ReferralOverdue
from kit.clock import now
from kit.periodic import NewUow, Periodic

from . import domain, store
from .store import participation

ANSWER_DAYS = int(os.environ.get("REFERRAL_ANSWER_WORKING_DAYS", domain.ANSWER_WORKING_DAYS))
FOLLOW_UP_DAYS = int(os.environ.get("REFERRAL_FOLLOW_UP_WORKING_DAYS", domain.FOLLOW_UP_WORKING_DAYS))
EVERY_SECONDS = float(os.environ.get("REFERRAL_TIMER_SECONDS", "60"))


async def raise_due(new_uow: NewUow) -> None:
    async with new_uow() as uow:
        at = now()
        for sql, event in ((store.OVERDUE, ReferralOverdue), (store.NO_OUTCOME, ReferralFollowUpDue)):
            for r in await store.mark_due(uow.conn, sql, uow.municipality, at):
                uow.record(event(referral_id=r["id"], consultation_id=r["consultation_id"],
                                 from_office=r["from_division"], to_office=r["to_agency"], at=at,
                                 due_at=r["due_at"]))
        await uow.commit()


PERIODIC = Periodic("raise referral timers", EVERY_SECONDS, raise_due)


async def raise_follow_ups(new_uow: NewUow) -> None:
    async with new_uow() as uow:
        at = now()
        for r in await participation.follow_ups_due(uow.conn, uow.municipality, at):
            uow.record(FollowUpDue(placement_id=r["placement_id"], participation_id=r["participation_id"],
                                   office=r["office"], worker=r["worker"], step=r["step"],
                                   due_at=r["due_at"]))
        await uow.commit()


FOLLOW_UPS = Periodic("raise placement follow-ups", EVERY_SECONDS, raise_follow_ups)
