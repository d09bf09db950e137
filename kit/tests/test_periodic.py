"""A periodic job runs again after each pause, a failed round does not end it, and stopping
ends its pause at once (shut-down does not wait out an hour's interval)."""

import asyncio

from kit.periodic import Periodic, PeriodicRunner, ran_since


async def test_rounds_repeat_survive_failures_and_stop_at_once() -> None:
    rounds: list[int] = []
    fourth = asyncio.Event()

    async def job(_new_uow: object) -> None:
        rounds.append(len(rounds))
        if len(rounds) == 4:
            fourth.set()
        if len(rounds) == 2:
            raise RuntimeError("a failed round")

    fast = PeriodicRunner(Periodic("fast", 0.01, job), lambda: None)  # type: ignore[arg-type,return-value]
    task = asyncio.create_task(fast.run())
    await asyncio.wait_for(fourth.wait(), 5)
    fast.stop()
    await asyncio.wait_for(task, 1)
    assert "fast" in ran_since(0)

    slow = PeriodicRunner(Periodic("slow", 3600, job), lambda: None)  # type: ignore[arg-type,return-value]
    task = asyncio.create_task(slow.run())
    await asyncio.sleep(0.05)  # in its hour's pause
    slow.stop()
    await asyncio.wait_for(task, 1)  # not an hour
