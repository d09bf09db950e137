"""The responsibility ledger (主担当の記録) and the plan's timers. Rules only; no I/O.

The ledger answers "who led this person's support at instant X": each entry is a lead that a
重層的支援会議 put in place (an `assign_lead` decision, or the approval of a plan version naming
its lead), effective from the decision. The lead at X is the latest entry in force at or before
X. A correction rewrites what was decided then: the superseded entry no longer counts and the
corrected lead is effective from the same instant. Entries are never deleted.

A case without a lead: when a 重層的支援会議 decides something on a person's case (an assessment,
a plan, participation support, outreach, a closure) and nobody leads it, the meeting has
LEAD_GRACE_WORKING_DAYS of the city's working days to assign one; then CaseWithoutLead is
raised, once per decision, to the coordinators.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kit import workdays

LEAD_GRACE_WORKING_DAYS = 2
CONNECTION_CHECKS = 3  # stay-connected contacts after closure (つながり続ける支援)
CONNECTION_EVERY_WORKING_DAYS = 20  # about a month apart
# Decisions that act on a person's case, after which somebody must lead it.
NEEDS_A_LEAD = frozenset({"approve_assessment", "approve_plan", "start_participation_support",
                          "start_outreach", "close"})


@dataclass(frozen=True)
class Entry:
    lead_agency: str
    lead_worker: str
    effective_at: datetime
    decision_id: uuid.UUID
    plan_id: uuid.UUID | None = None
    in_force: bool = True


def lead_at(entries: Iterable[Entry], at: datetime) -> Entry | None:
    """Who led at `at`: the latest entry in force effective at or before it."""
    before = [e for e in entries if e.in_force and e.effective_at <= at]
    return max(before, key=lambda e: e.effective_at, default=None)


def periods(entries: Sequence[Entry]) -> list[tuple[Entry, datetime | None]]:
    """Each entry in force with the instant the next one took over (None: leads still)."""
    live = sorted((e for e in entries if e.in_force), key=lambda e: e.effective_at)
    return [(e, live[i + 1].effective_at if i + 1 < len(live) else None) for i, e in enumerate(live)]


def lead_due(decided_at: datetime, grace: int = LEAD_GRACE_WORKING_DAYS) -> datetime:
    """By when a meeting that acted on a leaderless case must have assigned a lead."""
    return workdays.deadline(decided_at, grace)


def review_due(review_date: date) -> datetime:
    """A review date is due when it has passed: at the end of that day, or of the next working
    day when the window is closed that day (a weekend, a holiday, the year-end closure)."""
    day = review_date if workdays.is_working_day(review_date) \
        else workdays.add_working_days(review_date, 1)
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=workdays.JST)


def connection_checks(closed_at: datetime, count: int = CONNECTION_CHECKS,
                      every: int = CONNECTION_EVERY_WORKING_DAYS) -> list[datetime]:
    """When the stay-connected contacts after closure are due, each `every` working days on."""
    return [workdays.deadline(closed_at, every * n) for n in range(1, count + 1)]
