"""A single-node KRaft Kafka broker run from the jars Maven copied into .cache/.

Secured from its first start: TLS on both listeners with a certificate of a CA generated in
its home (infra/local/tls.py), SASL/SCRAM for clients, ACLs for everything. The admin's SCRAM
credential is written into the metadata log when the storage is formatted, so the first
client can authenticate; every other principal is created through it (infra/local/acls.py).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.kafka import sasl_ssl

from . import proc, tls
from .catalog import KAFKA_LIB, ROOT
from .credentials import Credentials, write_private

CONFIG_DIR = ROOT / "infra" / "kafka"
HEAP = "-Xmx512m"  # the machines have 2 cores and are shared: keep the broker small
# A broker of the tests and benchmarks lives minutes: C2's compiling was most of its CPU in its
# first minutes (bench/PROFILE.md), so C1 only; and the serial collector, whose pauses on a heap
# this small are short, instead of G1's concurrent threads on two cores. TSUNAGU_KAFKA_JVM_OPTIONS
# replaces them (a benchmark of a warmed broker wants C2: its TLS and request handling cost ~40 %
# less once compiled).
JVM_OPTIONS = tuple(os.environ.get("TSUNAGU_KAFKA_JVM_OPTIONS", "").split()) or (
    HEAP, "-Xms128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
ADMIN = "admin"  # the one super user besides the broker itself (server.properties.in)


@dataclass
class KafkaNode:
    home: Path  # holds data/, logs/, server.properties, kafka.pid
    port: int
    controller_port: int
    # Benchmarks only (bench/harness.py): a PLAINTEXT listener for the raw baseline, on which
    # clients are User:ANONYMOUS and get only the ACLs the benchmark grants. Never in `make up`
    # or the tests.
    plaintext_port: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.home / "credentials.json")

    @property
    def ca_file(self) -> Path:
        return self.home / "tls" / "ca.pem"

    def client(self, principal: str = ADMIN) -> dict[str, Any]:
        """aiokafka connection kwargs for one of this broker's principals."""
        return sasl_ssl(self.bootstrap, principal, self.credentials.password(principal),
                        str(self.ca_file))

    @property
    def pidfile(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log(self) -> Path:
        return self.home / "logs" / "server.log"

    def _java(self) -> list[str]:
        if not KAFKA_LIB.is_dir():
            raise RuntimeError(f"Kafka jars missing in {KAFKA_LIB}: run `make bootstrap` first")
        java = shutil.which("java") or "java"
        return [java, "-cp", f"{KAFKA_LIB}/*"]

    def _configure(self) -> Path:
        data = self.home / "data"
        data.mkdir(parents=True, exist_ok=True)
        tls.ensure(self.ca_file.parent)
        admin_password = self.credentials.password(ADMIN)
        text = (CONFIG_DIR / "server.properties.in").read_text().format(
            port=self.port, controller_port=self.controller_port, data_dir=data,
            tls_dir=self.ca_file.parent, admin_password=admin_password, broker_cn=tls.BROKER_CN,
            raw_listener=f",RAW://127.0.0.1:{self.plaintext_port}" if self.plaintext_port else "",
            raw_protocol=",RAW:PLAINTEXT" if self.plaintext_port else "")
        props = self.home / "server.properties"
        write_private(props, text.encode())  # it holds the admin's password
        if not (data / "meta.properties").exists():
            cluster_id = "-"
            while cluster_id.startswith("-"):  # a leading '-' reads as an option to StorageTool
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            subprocess.run([*self._java(), "kafka.tools.StorageTool", "format", "-t", cluster_id,
                            "-c", str(props), "--add-scram",
                            f"SCRAM-SHA-512=[name={ADMIN},password={admin_password}]"],
                           check=True, capture_output=True)
            self._marker.touch()
        return props

    @property
    def _marker(self) -> Path:
        """Present once the storage was formatted with the admin's credential."""
        return self.home / "storage-secured"

    @property
    def unsecured(self) -> bool:
        """Whether this home holds a broker from before broker security (plaintext, no admin)."""
        return (self.home / "data").exists() and not self._marker.exists()

    def start(self, timeout: float = 180.0) -> None:
        """Start the broker unless it already runs; return once it accepts connections."""
        if self.unsecured:
            # A development broker from before broker security: plaintext, and its storage
            # holds no admin credential. Its data goes (the services' outboxes keep theirs).
            print(f"replacing the unsecured Kafka storage in {self.home / 'data'}")
            self.stop()
            shutil.rmtree(self.home / "data")
        if proc.pid_alive(self.pidfile) and proc.port_open(self.port):
            return
        props = self._configure()
        logs = self.home / "logs"
        cmd = [*self._java()[:1], *JVM_OPTIONS, "-Djava.awt.headless=true",
               f"-Dkafka.logs.dir={logs}",
               f"-Dlog4j2.configurationFile={CONFIG_DIR / 'log4j2.properties'}",
               *self._java()[1:], "kafka.Kafka", str(props)]
        proc.spawn(cmd, logs / "stdout.log", self.pidfile)
        proc.wait_port(self.port, timeout, "Kafka", logs / "stdout.log")

    def stop(self) -> bool:
        return proc.stop(self.pidfile, timeout=30.0)
