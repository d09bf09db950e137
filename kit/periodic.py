"""Periodic jobs of a service (e.g. announcing expired consents), stopped gracefully."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kit.uow import UnitOfWork

log = logging.getLogger("kit.periodic")
NewUow = Callable[[], UnitOfWork]
# When each job of this process last finished a round (or started one, while it runs), by
# name: what kit/stalls.py names beside an event-loop stall.
_LAST_RAN: dict[str, float] = {}


def ran_since(moment: float) -> list[str]:
    """The periodic jobs that ran (or are running) since `moment` (time.monotonic())."""
    return sorted(name for name, at in _LAST_RAN.items() if at >= moment)


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: float
    job: Callable[[NewUow], Awaitable[None]]


class PeriodicRunner:
    def __init__(self, periodic: Periodic, new_uow: NewUow) -> None:
        self.periodic, self.new_uow = periodic, new_uow
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            _LAST_RAN[self.periodic.name] = float("inf")  # running
            try:
                await self.periodic.job(self.new_uow)
            except Exception:  # a failed round is logged and tried again next time
                log.exception("periodic job %s failed", self.periodic.name)
            finally:
                _LAST_RAN[self.periodic.name] = time.monotonic()
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.periodic.every_seconds)
            except TimeoutError:
                pass
