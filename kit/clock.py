"""The one place that reads the wall clock, so domain code takes time as an argument.

Tests move time forward for every service at once: when TSUNAGU_CLOCK_FILE names a file, its
content (seconds, a float) is added to the wall clock. The test stack sets it (infra/local/stack.py,
`Stack.shift_clock`); a deployment never does, and then `now()` is the wall clock alone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

_FILE = os.environ.get("TSUNAGU_CLOCK_FILE")
_cache: tuple[int, timedelta] = (-1, timedelta())


def now() -> datetime:
    wall = datetime.now(UTC)
    return wall + _offset() if _FILE else wall


def _offset() -> timedelta:
    """The file's offset, re-read only when the file changes (one stat per call)."""
    global _cache
    assert _FILE is not None
    try:
        mtime = os.stat(_FILE).st_mtime_ns
    except FileNotFoundError:
        return timedelta()
    if mtime != _cache[0]:
        text = Path(_FILE).read_text().strip()
        _cache = (mtime, timedelta(seconds=float(text or 0)))
    return _cache[1]
