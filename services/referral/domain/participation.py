"""Participation support (参加支援): who may run it, the placement with a host, and its follow-up
check-ins on the city's working days until it holds. Rules only; no I/O."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from contracts.events.referral import PlacementStable, PlacementStarted
from kit import workdays
from kit.policy import Consent, Workplace

# Check-ins after a week, a month, three and six months (plan ch. 4 (1): 定着まで伴走する).
FOLLOW_UPS: tuple[tuple[str, int, int], ...] = (("1w", 7, 0), ("1m", 0, 1), ("3m", 0, 3), ("6m", 0, 6))
RUNNING_KINDS = frozenset({"coordinators", "general_desk"})  # offices that may start it themselves
Status = Literal["open", "placed", "stable"]


class ParticipationRuleBroken(Exception):
    """A step this rule forbids; the message names the way forward (Japanese, English)."""


@dataclass(frozen=True)
class Placement:
    id: uuid.UUID
    participation_id: uuid.UUID
    resource_id: str
    host_office: str
    office: str
    worker: str
    started_at: datetime
    follow_ups: tuple[tuple[str, datetime], ...]
    event: PlacementStarted


def covered(person_id: uuid.UUID, place: Workplace, consents: tuple[Consent, ...], at: datetime) -> bool:
    return any(c.person_id == person_id and c.covers(place, "support", at) for c in consents)


def not_covered(office: str) -> str:
    return (f"本人の同意が {office} を対象としていません。同意を得て記録する（範囲に {office} または"
            f"その法人を含める）か、重層的支援会議で参加支援を決定してください / the person's "
            f"consent does not cover {office}: record a consent that covers it (or its legal "
            f"body), or have a 重層的支援会議 decide participation support")


def _add_months(d: date, months: int) -> date:
    month = d.month - 1 + months
    year, month = d.year + month // 12, month % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def follow_ups(started_at: datetime) -> tuple[tuple[str, datetime], ...]:
    """Each check-in is due as the first working day on or after its calendar date begins (JST):
    a holiday or the year-end closure moves it to the next day the office is open."""
    start = workdays.local_date(started_at)
    due = []
    for step, days, months in FOLLOW_UPS:
        d = _add_months(start, months) + timedelta(days=days)
        while not workdays.is_working_day(d):
            d += timedelta(days=1)
        due.append((step, datetime.combine(d, datetime.min.time(), tzinfo=workdays.JST)))
    return tuple(due)


def place(participation_id: uuid.UUID, status: str, resource_id: str, host_office: str,
          office: str, worker: str, at: datetime) -> Placement:
    if status == "stable":
        raise ParticipationRuleBroken("参加は定着済みです / this participation is stable already")
    placement_id = uuid.uuid4()
    return Placement(placement_id, participation_id, resource_id, host_office, office, worker, at,
                     follow_ups(at), PlacementStarted(
                         placement_id=placement_id, participation_id=participation_id,
                         resource_id=resource_id, host_office=host_office, office=office,
                         worker=worker, started_at=at))


def end(ended_at: datetime | None) -> None:
    """A placement ends once (the person stopped going, or moved on); stable ones too."""
    if ended_at is not None:
        raise ParticipationRuleBroken("この受け入れは終了済みです / the placement has ended already")


def stable(placement_id: uuid.UUID, participation_id: uuid.UUID, resource_id: str, office: str,
           stable_at: datetime | None, at: datetime) -> PlacementStable:
    if stable_at is not None:
        raise ParticipationRuleBroken("定着済みです / the placement is stable already")
    return PlacementStable(placement_id=placement_id, participation_id=participation_id,
                           resource_id=resource_id, office=office, stable_at=at)
