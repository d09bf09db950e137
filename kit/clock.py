"""The one place that reads the wall clock, so domain code takes time as an argument."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
