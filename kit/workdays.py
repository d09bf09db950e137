"""The city's working days: Monday to Friday, except Japan's public holidays (from the
maintained `holidays` package, substitute and citizens' holidays included) and the year-end
closure of 12/29 to 1/3. Timers counted "in working days" (an unanswered referral, an overdue
contact) use these, in Japan's time zone: a day is a day at the window, not in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

JST = ZoneInfo("Asia/Tokyo")


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("JP", years=year))


def year_end_closure(d: date) -> bool:
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in _holidays(d.year) and not year_end_closure(d)


def local_date(at: datetime) -> date:
    """The date at the window (Japan) of an instant."""
    return at.astimezone(JST).date()


@lru_cache(maxsize=64)  # pure: every consultation received on a day asks for the same deadline
def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (n >= 1); `start` itself does not count."""
    if n < 1:
        raise ValueError("count at least one working day")
    d = start
    while n:
        d += timedelta(days=1)
        n -= is_working_day(d)
    return d


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count, d = 0, start
    while d < end:
        d += timedelta(days=1)
        count += is_working_day(d)
    return count


def deadline(at: datetime, n: int) -> datetime:
    """The instant n working days after `at` ends: midnight (JST) after that working day."""
    last = add_working_days(local_date(at), n)
    return datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=JST)
