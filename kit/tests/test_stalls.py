"""The event loop's lag probe: a piece of work holding the loop shows on /metrics and in the log,
with the periodic job that held it named."""

import asyncio
import logging
import time

import pytest
from prometheus_client import generate_latest

from kit.metrics import Metrics
from kit.periodic import Periodic, PeriodicRunner
from kit.stalls import LoopProbe


async def test_a_job_holding_the_loop_is_measured_and_logged_by_name(
        caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    probe = LoopProbe(metrics, every_seconds=0.01, log_after_seconds=0.05)
    ran = asyncio.Event()

    async def hold(_new_uow: object) -> None:
        start = time.thread_time()  # 0.2 s of CPU, as a quadratic check or a big validation
        while time.thread_time() - start < 0.2:
            pass
        ran.set()

    runner = PeriodicRunner(Periodic("rebuild everything", 3600, hold), lambda: None)  # type: ignore[arg-type,return-value]
    watching = asyncio.create_task(probe.run())
    await asyncio.sleep(0.05)  # the probe is asleep when the job starts
    with caplog.at_level(logging.WARNING, logger="kit.stalls"):
        job = asyncio.create_task(runner.run())
        await ran.wait()
        await asyncio.sleep(0.05)  # the probe's next wake-up, after the job let go
    runner.stop()
    probe.stop()
    await asyncio.gather(job, watching)

    scrape = generate_latest(metrics.registry).decode()
    assert 'event_loop_lag_seconds_bucket{le="0.1"}' in scrape  # operators see it on /metrics
    # Every wake-up is counted; the held one, alone, falls beyond 0.1 s.
    def wakeups(le: str) -> float:
        return metrics.registry.get_sample_value("event_loop_lag_seconds_bucket", {"le": le}) or 0
    assert wakeups("+Inf") - wakeups("0.1") == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "kit.stalls"]
    assert line.startswith("event loop held for ")
    assert "periodic jobs since: rebuild everything" in line
    held_ms, cpu_ms = int(line.split()[4]), int(line.split()[6].lstrip("("))
    assert held_ms >= 150 and cpu_ms >= 200  # its own work, not a wait for a core
