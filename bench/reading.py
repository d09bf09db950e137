"""What reading one event costs an inbox, without a stack: CPU µs per record.

`python -m bench.reading` builds `BENCH_READING_EVENTS` (10,000) records as referral fetches them
during the replay bench (a ConsentGranted from intake: its envelope's headers, a traceparent as
the relay adds, the JSON payload) and times, best of `BENCH_READING_REPEATS` (7) passes over all
of them: the CloudEvents headers alone (`Envelope.from_headers`), the payload alone
(`model_validate_json`), and the whole of kit/inbox.py's `_read` (both, the municipality, the
registry, the origin check). Nothing else runs in the process: on a shared machine compare runs
made back to back, and read the best pass, not the mean.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from aiokafka.structs import ConsumerRecord

from contracts.envelope import Envelope
from contracts.events.intake import ConsentGranted
from kit.inbox import InboxConsumer
from kit.metrics import Metrics
from kit.settings import ServiceSettings

from .replay import TOPIC, granted

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def records(count: int) -> list[ConsumerRecord[bytes, bytes]]:
    out = []
    for offset in range(count):
        event, headers = granted()
        value = event.model_dump_json().encode()
        out.append(ConsumerRecord(TOPIC, 0, offset, 0, 0, str(event.person_id).encode(), value,
                                  None, 36, len(value), (*headers, ("traceparent",
                                                                    TRACEPARENT.encode()))))
    return out


async def _ignore(event: Any, ctx: Any) -> None:
    """Referral's consent view stands here: only the reading is timed."""


def best_us(step: Callable[[Any], Any], items: list[Any], repeats: int) -> float:
    """The fastest pass's µs per item."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for item in items:
            step(item)
        best = min(best, time.process_time() - started)
    return best / len(items) * 1e6


def main() -> None:
    count = int(os.environ.get("BENCH_READING_EVENTS", "10000"))
    repeats = int(os.environ.get("BENCH_READING_REPEATS", "7"))
    fetched = records(count)
    inbox = InboxConsumer(None, ServiceSettings(service="referral",
                                                database_url="postgresql://unused/referral"),
                          {ConsentGranted: [_ignore]}, Metrics())
    steps: dict[str, Callable[[Any], Any]] = {
        "headers (Envelope.from_headers)": lambda r: Envelope.from_headers(r.headers),
        "payload (ConsentGranted.model_validate_json)": lambda r: ConsentGranted
        .model_validate_json(r.value),
        "_read (both, and the checks around them)": inbox._read,
    }
    print(f"{count} records, best of {repeats} passes, load {os.getloadavg()[0]:.1f}")
    for name, step in steps.items():
        print(f"{best_us(step, fetched, repeats):8.2f} µs per record  {name}")


if __name__ == "__main__":
    main()
