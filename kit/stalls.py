"""How long the event loop was held: a task that sleeps a short interval and measures how late it
woke. Anything that keeps the loop busy (a periodic job's big loop, a full collection of the
cyclic collector, a large JSON or pydantic round trip) delays every request and event in flight
in the process by as much; the lateness is the delay they waited through.

Exported as the histogram `event_loop_lag_seconds` on /metrics, and logged past a threshold with
what may have held the loop that the probe can tell cheaply: the periodic jobs that ran since
its previous wake (kit/periodic.py) and the cyclic collector's full collections. The log line
carries names and durations only, never an event's or a request's content.

Cost: one wake-up of an idle process per interval (a uvloop timer's wake-up measured 70-90 µs
of CPU on the shared 2-core machine: ~0.3 ms a second at the default 0.25 s). A stall shorter
than the interval is caught when it spans a wake-up (with chance stall/interval), a longer one
always; a finer interval (loop_probe_seconds) while investigating catches them all.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from kit import periodic
from kit.metrics import Metrics

log = logging.getLogger("kit.stalls")


def full_collections() -> int:
    """Full (generation 2) collections of the cyclic collector so far: a counter Python keeps."""
    return int(gc.get_stats()[2]["collections"])


class LoopProbe:
    def __init__(self, metrics: Metrics, every_seconds: float, log_after_seconds: float) -> None:
        self.metrics, self.every, self.log_after = metrics, every_seconds, log_after_seconds
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        if self.every <= 0:  # switched off
            return
        collections = full_collections()
        woke, cpu = time.monotonic(), time.thread_time()
        while not self._stop.is_set():
            # Not wait_for(self._stop.wait()): a plain sleep is one timer, no task per round.
            await asyncio.sleep(self.every)
            now, cpu_now = time.monotonic(), time.thread_time()
            lag = max(0.0, now - woke - self.every)
            self.metrics.loop_lag.observe(lag)
            count = full_collections()  # a list of three small dicts: ~1 µs
            if lag >= self.log_after:
                # The loop's own CPU since its previous wake tells work done here (CPU ≈ lag)
                # from a process waiting for a core the machine's other processes held.
                log.warning("event loop held for %.0f ms (%.0f ms of CPU in %.0f ms); periodic "
                            "jobs since: %s; full collections: %d", lag * 1000,
                            (cpu_now - cpu) * 1000, (now - woke) * 1000,
                            ", ".join(periodic.ran_since(woke)) or "none", count - collections)
            collections, woke, cpu = count, now, cpu_now
