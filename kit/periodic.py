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
        self._stopped = False
        self._pause: asyncio.Future[None] | None = None

    def stop(self) -> None:
        """The round in hand finishes; the pause after it ends at once."""
        self._stopped = True
        if self._pause is not None and not self._pause.done():
            self._pause.set_result(None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopped:
            _LAST_RAN[self.periodic.name] = float("inf")  # running
            try:
                await self.periodic.job(self.new_uow)
            except Exception:  # a failed round is logged and tried again next time
                log.exception("periodic job %s failed", self.periodic.name)
            finally:
                _LAST_RAN[self.periodic.name] = time.monotonic()
            if self._stopped:
                break
            # A future and a timer: wait_for(event.wait(), timeout) made and cancelled a task
            # every round (the webhook poll's twice a second, in every idle process).
            self._pause = pause = loop.create_future()
            timer = loop.call_later(self.periodic.every_seconds, _resolve, pause)
            try:
                await pause
            finally:
                timer.cancel()


def _resolve(pause: asyncio.Future[None]) -> None:
    if not pause.done():
        pause.set_result(None)
