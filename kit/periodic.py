"""Periodic jobs of a service (e.g. announcing expired consents), stopped gracefully."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kit.uow import UnitOfWork

log = logging.getLogger("kit.periodic")
NewUow = Callable[[], UnitOfWork]


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
            try:
                await self.periodic.job(self.new_uow)
            except Exception:  # a failed round is logged and tried again next time
                log.exception("periodic job %s failed", self.periodic.name)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.periodic.every_seconds)
            except TimeoutError:
                pass
