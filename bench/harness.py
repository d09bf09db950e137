"""What the benchmarks share: a stack of their own on bench ports, an open-loop driver,
percentiles, and the table and JSON file each run leaves behind."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from infra.local import proc
from infra.local.catalog import ROOT
from infra.local.kafka import C2_JVM_OPTIONS
from infra.local.stack import Stack

Figures = dict[str, float | int | str]
StackFactory = Callable[..., AbstractAsyncContextManager[Stack]]

RESULTS = Path(__file__).resolve().parent / "results"

# Neither `make up` (8001.., 9092, 55432) nor the tests (18001.., 29092, 55433) use these.
# BENCH_PORT_OFFSET shifts them all, so two engineers' benchmarks can run side by side.
_OFFSET = int(os.environ.get("BENCH_PORT_OFFSET", "0"))
KAFKA_PORT, KAFKA_CONTROLLER_PORT, POSTGRES_PORT, IDP_PORT = (
    p + _OFFSET for p in (39092, 39093, 55434, 28009))
KAFKA_PLAINTEXT_PORT = 39094 + _OFFSET  # the raw baselines' plaintext listener (infra/local/kafka.py)
SERVICE_PORTS = {name: 28001 + i + _OFFSET for i, name in enumerate(
    ("intake", "referral", "meetings", "plans", "outreach", "notifications"))}


BENCH_PORTS: dict[str, Any] = {"kafka_port": KAFKA_PORT, "kafka_controller_port": KAFKA_CONTROLLER_PORT,
                               "kafka_plaintext_port": KAFKA_PLAINTEXT_PORT,
                               "postgres_port": POSTGRES_PORT, "idp_port": IDP_PORT,
                               "service_ports": SERVICE_PORTS}


def new_stack(extra_env: Mapping[str, str] | None = None,
              ports: Mapping[str, Any] = BENCH_PORTS) -> Stack:
    """A Stack (not started) on `ports`, in a fresh temporary directory of its own."""
    infra = {k: v for k, v in ports.items() if k != "service_ports"}
    busy = [p for p in (*infra.values(), *ports["service_ports"].values())
            if p and proc.port_open(p)]
    if busy:
        raise RuntimeError(f"bench ports already in use: {busy} (another benchmark still running?)")
    home = Path(tempfile.mkdtemp(prefix="tsunagu-bench-"))
    home.chmod(0o755)  # PostgreSQL runs as the postgres user and must traverse it
    return Stack(home=home, service_ports=dict(ports["service_ports"]),
                 extra_env=dict(extra_env or {}), **infra)


def directory_with(offices: Iterable[str]) -> Path:
    """The seeded directory plus these offices (of the city, taking hand-overs), in a file of
    its own for REFERRAL_DIRECTORY_FILE: a benchmark tells each item's arrival apart by its
    recipient, and only offices of the directory take hand-overs. The caller removes its folder."""
    directory = json.loads((ROOT / "services" / "referral" / "directory.json").read_text())
    directory["offices"] += [{"id": name, "legal_body": "city", "kind": "agency", "label": name,
                              "takes_handovers": True} for name in offices]
    path = Path(tempfile.mkdtemp(prefix="tsunagu-bench-directory-")) / "directory.json"
    path.write_text(json.dumps(directory, ensure_ascii=False))
    return path


@asynccontextmanager
async def bench_stack(*services: str, extra_env: Mapping[str, str] | None = None,
                      ports: Mapping[str, Any] = BENCH_PORTS) -> AsyncIterator[Stack]:
    """Kafka, PostgreSQL and only `services`, started; stopped and deleted afterwards."""
    # The broker as deployed (C2), unless the caller chose: the benchmarks warm it up first.
    os.environ.setdefault("TSUNAGU_KAFKA_JVM_OPTIONS", " ".join(C2_JVM_OPTIONS))
    stack = new_stack(extra_env, ports)
    try:
        # Stack's methods block (and start_infra runs an event loop of its own): use threads.
        started = time.monotonic()
        await asyncio.to_thread(stack.start_infra)
        await asyncio.gather(*(asyncio.to_thread(stack.start_service, s) for s in services))
        note(f"stack up in {time.monotonic() - started:.1f} s ({', '.join(services)}) in {stack.home}")
        yield stack
    finally:
        await asyncio.to_thread(stack.down)
        await asyncio.to_thread(shutil.rmtree, stack.home, ignore_errors=True)


async def open_loop(rate: float, count: int,
                    send: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Start send(0..count-1) at fixed intervals of 1/rate, whether earlier sends finished or not."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: list[asyncio.Task[None]] = []
    for i in range(count):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)


def note(text: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between closest ranks; nan if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def write_results(name: str, figures: Figures) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    return path


def _fmt(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def table(name: str, figures: Figures, baselines: Mapping[str, str]) -> str:
    """One row per figure; a figure named in `baselines` also shows its baseline and the ratio."""
    rows = [(name, "value", "baseline", "ratio")]
    for key, value in figures.items():
        base_key = baselines.get(key)
        base = figures.get(base_key) if base_key else None
        if base is None:
            rows.append((key, _fmt(value), "", ""))
            continue
        ratio = ""
        if isinstance(value, int | float) and isinstance(base, int | float) and base:
            ratio = f"{value / base:.2f}x"
        rows.append((key, _fmt(value), f"{_fmt(base)} ({base_key})", ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                              strict=True))])
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, children: bool = False, thread: int | None = None) -> float:
    """utime + stime of `pid` from /proc (with `children`: plus its reaped children's; with
    `thread`: that one thread's alone); 0 if gone."""
    stat = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    try:
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the ")" of comm: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS_PER_SECOND


def _read(path: Path) -> str:
    """A /proc file's text; empty if its thread or process is gone."""
    try:
        return path.read_text()
    except OSError:
        return ""


def child_pids(pid: int) -> list[int]:
    """Live direct children of `pid` (PostgreSQL's backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds used by each of the stack's processes: every service (with its workers, if
    it runs several), the broker, and PostgreSQL (the postmaster, its live backends and those
    that ended), and this process."""

    def __init__(self, stack: Stack, services: Iterable[str]) -> None:
        self.pids = {name: int(stack._pidfile(name).read_text()) for name in services}
        self.pids["kafka"] = int(stack.kafka.pidfile.read_text())
        self.postmaster = int((stack.postgres.data / "postmaster.pid").read_text().split()[0])
        # PostgreSQL backends serving the benchmark itself (its watcher): their CPU is the
        # measurement's, counted as the bench's and not as PostgreSQL's.
        self.bench_backends: set[int] = set()

    def sample(self) -> dict[str, float]:
        # A service run with <SERVICE>_WORKERS > 1 is a supervisor and its worker processes.
        used = {name: cpu_seconds(pid) + sum(cpu_seconds(c) for c in child_pids(pid))
                if name != "kafka" else cpu_seconds(pid) for name, pid in self.pids.items()}
        backends = {p: cpu_seconds(p) for p in child_pids(self.postmaster)}
        ours = sum(backends.get(p, 0.0) for p in self.bench_backends)
        used["postgres"] = cpu_seconds(self.postmaster, children=True) + sum(backends.values()) - ours
        used["bench"] = cpu_seconds(os.getpid()) + ours
        return used

    def compiling(self) -> float:
        """CPU seconds the broker's JIT compiler threads (C1 and C2) have used."""
        pid = self.pids["kafka"]
        return sum(cpu_seconds(pid, thread=int(t.name)) for t in Path(f"/proc/{pid}/task").iterdir()
                   if "Compiler" in _read(t / "comm"))

    @staticmethod
    def machine() -> tuple[int, int]:
        """(stolen, all) clock ticks of the machine's CPUs so far, from /proc/stat's first line.
        Stolen: time the hypervisor ran something else while this machine's CPU had work to do.
        A virtual machine's host can take a fifth of its cores for seconds at a time (2026-12-02:
        0-29 % a second at 50/s), and the tail latency follows it; the load average does not
        show it, so a step's share is reported beside its figures."""
        fields = [int(f) for f in _read(Path("/proc/stat")).split("\n", 1)[0].split()[1:]]
        # user nice system idle iowait irq softirq steal (guest time is inside user already)
        return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])

    @staticmethod
    def stolen_pct(before: tuple[int, int], after: tuple[int, int]) -> float:
        """Percent of the machine's CPU time stolen between two `machine()` readings."""
        ticks = after[1] - before[1]
        return round(100 * (after[0] - before[0]) / ticks, 1) if ticks > 0 else 0.0

    @staticmethod
    def per_item(before: Mapping[str, float], after: Mapping[str, float], items: int
                 ) -> dict[str, float]:
        """Milliseconds of CPU per item, by process, between two samples."""
        return {name: round((after[name] - before[name]) * 1000 / items, 3) if items else float("nan")
                for name in after}
