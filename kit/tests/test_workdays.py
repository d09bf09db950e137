"""Working days across a public holiday and the year-end closure (pure)."""

from datetime import UTC, date, datetime

from kit import workdays


def test_weekends_holidays_and_the_year_end_closure_are_not_working_days() -> None:
    assert workdays.is_working_day(date(2026, 12, 1))  # a Tuesday
    assert not workdays.is_working_day(date(2026, 12, 5))  # Saturday
    assert not workdays.is_working_day(date(2026, 11, 23))  # 勤労感謝の日 (Monday)
    assert not workdays.is_working_day(date(2026, 12, 29))  # closure, a Tuesday
    assert not workdays.is_working_day(date(2027, 1, 4 - 1))  # closure ends on the 3rd
    assert workdays.is_working_day(date(2027, 1, 4))  # Monday, back at the window
    assert not workdays.is_working_day(date(2026, 9, 22))  # 国民の休日 between two holidays


def test_counting_working_days_skips_what_is_closed() -> None:
    # Friday 2026-12-25 + 3 working days: Mon 28, then the closure to 1/3, then Mon 1/4, Tue 1/5.
    assert workdays.add_working_days(date(2026, 12, 25), 3) == date(2027, 1, 5)
    # Friday 2026-11-20 + 1: Monday 23rd is a holiday.
    assert workdays.add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 24)
    assert workdays.working_days_between(date(2026, 12, 25), date(2027, 1, 5)) == 3


def test_a_day_is_a_day_at_the_window_in_japan() -> None:
    # 2026-11-22 20:00 UTC is Monday 23rd 05:00 in Japan: a holiday there.
    assert workdays.local_date(datetime(2026, 11, 22, 20, tzinfo=UTC)) == date(2026, 11, 23)
    due = workdays.deadline(datetime(2026, 11, 20, 1, tzinfo=UTC), 1)  # Friday morning JST
    assert due.astimezone(workdays.JST).date() == date(2026, 11, 25)  # after Tuesday 24th
