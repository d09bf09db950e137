"""Helpers for cross-service tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")
Connect = Callable[[str], Awaitable[asyncpg.Connection]]  # the `db` fixture


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 30.0,
                     what: str = "condition") -> T:
    """Poll until `probe` returns something truthy (asynchronous effects take a moment)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")


def consultation(agency: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "visit",
        "main_complaint": "母の介護と息子のひきこもりで困っている",
        "categories": ["elderly_care", "8050"], "urgency": "high",
        "destination": {"kind": "agency", "agency": agency},
    }
    return body | overrides


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
