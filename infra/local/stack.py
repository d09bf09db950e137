"""The whole local stack: one Kafka, one PostgreSQL, the seven services (the tests start the
stream processor, statistics, only where they use it), and Zipkin to view their traces.

`make up` uses the defaults under .run/; tests build a Stack in a temporary directory on other
ports, so a running development stack and the test suite never touch each other.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from . import databases, divisions, proc
from .acls import declared, service_acls, setup
from .catalog import (
    IDP_PORT,
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    MUNICIPALITY_CODE,
    POSTGRES_PORT,
    ROOT,
    RUN,
    SERVICES,
    STREAM_SERVICES,
)
from .credentials import Credentials
from .kafka import KafkaNode
from .kafka_admin import LITERAL, TOPIC, wait_granted
from .postgres import PostgresNode
from .zipkin import ZipkinNode


@dataclass
class Stack:
    home: Path = RUN
    kafka_port: int = KAFKA_PORT
    kafka_controller_port: int = KAFKA_CONTROLLER_PORT
    postgres_port: int = POSTGRES_PORT
    idp_port: int = IDP_PORT
    service_ports: dict[str, int] = field(default_factory=lambda: dict(SERVICES))
    extra_env: dict[str, str] = field(default_factory=dict)
    kafka_plaintext_port: int | None = None  # benchmarks' raw baseline only (KafkaNode)
    zipkin_port: int | None = None  # None: no trace viewer, and the services export no spans
    # uvicorn worker processes per service (default 1), e.g. INTAKE_WORKERS=2: one process uses
    # one core. Several are as safe as replicas (infra/deploy/k8s runs two of each): the relay
    # publishes under an advisory lock, the consumers share the partitions in one group, the
    # inbox and the idempotency keys live in the database, the audit chain's lock too.
    workers: dict[str, int] = field(default_factory=lambda: {
        name: int(os.environ[f"{name.upper()}_WORKERS"]) for name in SERVICES
        if os.environ.get(f"{name.upper()}_WORKERS")})
    # How the services reach PostgreSQL: "unix", its Unix-domain socket, or "tcp"
    # (127.0.0.1:postgres_port); either way with the role's password. On one machine the socket
    # skips the TCP loopback stack on both sides: a simple asyncpg round trip 47 → 37 µs of the
    # client's CPU and 33 → 24 µs of its backend's; a 3-round-trip write 253 → 174 and 283 → 223
    # (medians of 6 runs of 20,000 / 4,000, wave 6). TCP stays open for tests and tools (e.g. one
    # that proxies connections), whichever the services use.
    postgres_transport: str = field(
        default_factory=lambda: os.environ.get("TSUNAGU_POSTGRES_TRANSPORT", "unix"))

    def __post_init__(self) -> None:
        if self.postgres_transport not in ("unix", "tcp"):
            raise ValueError(f"TSUNAGU_POSTGRES_TRANSPORT is unix or tcp, not {self.postgres_transport!r}")
        self.kafka = KafkaNode(self.home / "kafka", self.kafka_port, self.kafka_controller_port,
                               self.kafka_plaintext_port)
        self.postgres = PostgresNode(self.home / "postgres", self.postgres_port)
        self.zipkin = ZipkinNode(self.home / "zipkin", self.zipkin_port) if self.zipkin_port else None
        self.data_keys = Credentials(self.home / "data-keys.json")

    @property
    def postgres_host(self) -> str:
        """The services' DSN host: the socket's directory, or the TCP address."""
        if self.postgres_transport == "unix":
            return str(self.postgres.socket_dir)
        return databases.TCP_HOST

    # -- infrastructure -------------------------------------------------------------------
    def start_infra(self) -> None:
        if self.zipkin:  # its start takes seconds: it runs while Kafka and PostgreSQL start
            self.zipkin.launch()
        self.postgres.start()
        self.kafka.start()
        self.start_idp()
        asyncio.run(self._prepare())
        if self.zipkin:
            self.zipkin.wait_ready()

    # -- the development identity provider ------------------------------------------------
    @property
    def idp_key(self) -> Path:
        return self.home / "idp" / "dev-key.pem"

    def start_idp(self) -> None:
        pidfile = self.home / "pids" / "idp.pid"
        if proc.pid_alive(pidfile) and proc.port_open(self.idp_port):
            return
        proc.spawn([sys.executable, "-m", "infra.idp", "serve", "--port", str(self.idp_port),
                    "--key", str(self.idp_key)], self.home / "logs" / "idp.log", pidfile, cwd=ROOT)
        proc.wait_port(self.idp_port, 20, "dev identity provider", self.home / "logs" / "idp.log")

    def token(self, user: str, **overrides: Any) -> str:
        from infra.idp.keys import load_or_create_key, mint
        return mint(load_or_create_key(self.idp_key), user, **overrides)

    async def _prepare(self) -> None:
        # Topics, then every principal (the services, the registered divisions) with its ACLs.
        registered = divisions.registered(self.kafka)
        principals = [*declared(), *(d.principal for d in registered)]
        acls = [*service_acls(), *(acl for d in registered for acl in d.acls())]
        await setup(self.kafka.client(), {p: self.kafka.credentials.password(p) for p in principals},
                    acls)
        # All were applied together; once one principal sees its topic, every one does.
        last = next(a for a in reversed(acls) if a.resource_type == TOPIC and a.pattern == LITERAL)
        await wait_granted(self.kafka.client(last.principal.removeprefix("User:")), last.resource)
        for name in self.service_ports:
            await databases.provision(self.postgres.superuser_dsn(), name)

    # -- services -------------------------------------------------------------------------
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[name]}"

    def log(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def _pidfile(self, name: str) -> Path:
        return self.home / "pids" / f"{name}.pid"

    @property
    def clock_file(self) -> Path:
        """Test stacks only (TSUNAGU_CLOCK_FILE in extra_env): seconds every service adds to its
        clock (kit/clock.py)."""
        return self.home / "clock-offset"

    def shift_clock(self, seconds: float) -> float:
        """Move every service's clock forward (or back) by `seconds`; returns the total offset."""
        before = float(self.clock_file.read_text() or 0) if self.clock_file.exists() else 0.0
        total = before + seconds
        self.clock_file.write_text(repr(total))
        return total

    def service_env(self, name: str) -> dict[str, str]:
        p = name.upper()
        env = {
            f"{p}_DATABASE_URL": databases.service_dsn(self.postgres_port, name, self.postgres_host),
            f"{p}_MIGRATION_DATABASE_URL": databases.owner_dsn(self.postgres_port, name,
                                                               self.postgres_host),
            "TSUNAGU_JWKS_URL": f"http://127.0.0.1:{self.idp_port}/.well-known/jwks.json",
            f"{p}_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            f"{p}_KAFKA_PASSWORD": self.kafka.credentials.password(name),
            f"{p}_KAFKA_CA_FILE": str(self.kafka.ca_file),
            "TSUNAGU_MUNICIPALITY_CODE": MUNICIPALITY_CODE,
            # Seals what is kept at rest (kit/sealing.py): one per service, kept under home/.
            f"{p}_DATA_KEY": self.data_keys.password(name),
            "OTEL_SERVICE_NAME": f"tsunagu-{name}",
            "PYTHONPATH": str(ROOT),
        }
        if self.zipkin:
            env["TSUNAGU_ZIPKIN_ENDPOINT"] = self.zipkin.spans_url
        return {**env, **self.extra_env}

    def start_service(self, name: str, env: dict[str, str] | None = None,
                      timeout: float = 120.0) -> None:
        if proc.pid_alive(self._pidfile(name)) and proc.port_open(self.service_ports[name]):
            return
        cmd = [sys.executable, "-m", "uvicorn", "--factory", f"services.{name}.app:create_app",
               "--host", "127.0.0.1", "--port", str(self.service_ports[name]),
               # uvloop and httptools: the event loop and the HTTP parser in C (bench/PROFILE.md)
               "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "15",
               *(["--workers", str(self.workers[name])] if self.workers.get(name, 1) > 1 else [])]
        proc.spawn(cmd, self.log(name), self._pidfile(name),
                   env={**self.service_env(name), **(env or {})}, cwd=ROOT)
        self.wait_ready(name, timeout)

    def wait_ready(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.pid_alive(self._pidfile(name)) is None:
                break
            try:
                with urllib.request.urlopen(self.url(name) + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        tail = self.log(name).read_text(errors="replace")[-3000:] if self.log(name).exists() else ""
        raise RuntimeError(f"service {name} not ready within {timeout:.0f}s\n{tail}")

    def wait_directory(self, timeout: float = 60.0, services: tuple[str, ...] = ()) -> int:
        """Until every (or each named) service's directory view holds referral's latest revision
        (access decisions look up where users act there); returns that revision."""
        viewers = tuple(n for n in self.service_ports if n not in STREAM_SERVICES)
        return asyncio.run(self._directory_everywhere(timeout, services or viewers))

    async def _directory_everywhere(self, timeout: float, services: tuple[str, ...]) -> int:
        deadline = time.monotonic() + timeout
        seen: dict[str, int | None] = {}
        while time.monotonic() < deadline:
            for name in services:
                conn = await asyncpg.connect(
                    databases.service_dsn(self.postgres_port, name, self.postgres_host))
                try:
                    seen[name] = await conn.fetchval("SELECT max(revision) FROM directory_view_revision")
                finally:
                    await conn.close()
            latest = seen.get("referral")
            if latest and all(v == latest for v in seen.values()):
                return latest
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the directory did not reach every service within {timeout:.0f}s: {seen}")

    def stop_service(self, name: str, kill: bool = False) -> bool:
        sig = signal.SIGKILL if kill else signal.SIGTERM
        return proc.stop(self._pidfile(name), timeout=30.0, sig=sig)

    def up(self) -> None:
        if self.kafka.unsecured:  # its services speak plaintext: start them again with credentials
            for name in self.service_ports:
                self.stop_service(name)
        self.start_infra()
        for name in self.service_ports:
            self.start_service(name)
        self.wait_directory()

    def down(self) -> None:
        for name in self.service_ports:
            self.stop_service(name)
        proc.stop(self.home / "pids" / "idp.pid")
        self.kafka.stop()
        self.postgres.stop()
        if self.zipkin:  # last: the services flushed their spans to it as they stopped
            self.zipkin.stop()
