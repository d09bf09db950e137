"""Zipkin's server, the operators' trace viewer, run from the exec jar Maven copied into .cache/.

In-memory storage (a development and test viewer: its traces go with it) and a small heap; it
listens on loopback only. The services export their spans to `spans_url` (kit/tracing.py).
"""

from __future__ import annotations

import shutil
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import proc
from .catalog import ZIPKIN_JAR

HEAP = "-Xmx256m"  # the machines are small and shared
# The oldest traces go first past this many spans (~1 kB each in the heap; 100 000 filled it).
MAX_SPANS = 20_000


@dataclass
class ZipkinNode:
    home: Path  # holds zipkin.log and zipkin.pid
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def spans_url(self) -> str:
        """Where the services post their spans (Zipkin's v2 JSON API)."""
        return self.url + "/api/v2/spans"

    @property
    def pidfile(self) -> Path:
        return self.home / "zipkin.pid"

    @property
    def log(self) -> Path:
        return self.home / "zipkin.log"

    def launch(self) -> None:
        """Start the server unless it already runs, without waiting for it (it takes seconds:
        the stack starts Kafka and PostgreSQL meanwhile)."""
        if proc.pid_alive(self.pidfile) and proc.port_open(self.port):
            return
        if not ZIPKIN_JAR.is_file():
            raise RuntimeError(f"Zipkin's server missing: {ZIPKIN_JAR}: run `make bootstrap` first")
        # C1 only and the serial collector: a quicker start and less CPU on a shared machine.
        cmd = [shutil.which("java") or "java", HEAP, "-Xms64m", "-XX:+UseSerialGC",
               "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true", "-jar", str(ZIPKIN_JAR),
               "--armeria.ports[0].ip=127.0.0.1", f"--armeria.ports[0].port={self.port}",
               "--armeria.ports[0].protocols=http", "--logging.level.root=WARN"]
        proc.spawn(cmd, self.log, self.pidfile,
                   env={"STORAGE_TYPE": "mem", "MEM_MAX_SPANS": str(MAX_SPANS)})

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.pid_alive(self.pidfile):
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"Zipkin not healthy on port {self.port} within {timeout:.0f}s\n{tail}")

    def stop(self) -> bool:
        return proc.stop(self.pidfile, timeout=20.0)
