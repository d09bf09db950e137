"""`python -m bench` runs every benchmark; `python -m bench journey` runs the ones named."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time

from .harness import Figures, bench_stack, table, write_results

# name -> module exposing `async def run(stack_factory) -> Figures` and optionally BASELINES
# ({figure: the figure it is compared with}). One line per benchmark.
BENCHMARKS: dict[str, str] = {
    "journey": "bench.journey",
    "match": "bench.match",
    "reads": "bench.reads",
    "statistics": "bench.statistics",
    "replay": "bench.replay",
    "webhooks": "bench.webhooks",
}


def run_one(name: str) -> Figures:
    module = importlib.import_module(BENCHMARKS[name])
    started = time.monotonic()
    figures: Figures = asyncio.run(module.run(bench_stack))
    path = write_results(name, figures)
    print()
    print(table(name, figures, getattr(module, "BASELINES", {})))
    print(f"({time.monotonic() - started:.0f} s wall, written to {path})")
    return figures


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    for name in names:
        run_one(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
