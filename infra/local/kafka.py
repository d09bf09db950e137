"""A single-node KRaft Kafka broker run from the jars Maven copied into .cache/."""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import proc
from .catalog import KAFKA_LIB, ROOT

CONFIG_DIR = ROOT / "infra" / "kafka"
HEAP = "-Xmx512m"  # the machines have 2 cores and are shared: keep the broker small


@dataclass
class KafkaNode:
    home: Path  # holds data/, logs/, server.properties, kafka.pid
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

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
        text = (CONFIG_DIR / "server.properties.in").read_text().format(
            port=self.port, controller_port=self.controller_port, data_dir=data)
        props = self.home / "server.properties"
        props.write_text(text)
        if not (data / "meta.properties").exists():
            cluster_id = "-"
            while cluster_id.startswith("-"):  # a leading '-' reads as an option to StorageTool
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            subprocess.run([*self._java(), "kafka.tools.StorageTool", "format", "-t", cluster_id,
                            "-c", str(props)], check=True, capture_output=True)
        return props

    def start(self, timeout: float = 60.0) -> None:
        """Start the broker unless it already runs; return once it accepts connections."""
        if proc.pid_alive(self.pidfile) and proc.port_open(self.port):
            return
        props = self._configure()
        logs = self.home / "logs"
        cmd = [*self._java()[:1], HEAP, "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
               f"-Dkafka.logs.dir={logs}",
               f"-Dlog4j2.configurationFile={CONFIG_DIR / 'log4j2.properties'}",
               *self._java()[1:], "kafka.Kafka", str(props)]
        proc.spawn(cmd, logs / "stdout.log", self.pidfile)
        proc.wait_port(self.port, timeout, "Kafka", logs / "stdout.log")

    def stop(self) -> bool:
        return proc.stop(self.pidfile, timeout=30.0)
