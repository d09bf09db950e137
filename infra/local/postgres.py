"""A PostgreSQL cluster from Debian's packages, run as the `postgres` user on loopback and on a
Unix-domain socket in its home.

PostgreSQL refuses to run as root, so when we are root every server command goes through
`runuser -u postgres`. The cluster is initialised with C.UTF-8: trigram search on Japanese
text needs a UTF-8 ctype (with plain C, non-ASCII characters yield no trigrams).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import proc


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"PostgreSQL's {name} not found: run `make bootstrap` first")
    return path


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:1])} failed ({done.returncode}): {done.stderr.strip()}")


# Who may connect how (written at every start, so a cluster made before keeps up): the superuser
# only as the `postgres` OS user over the socket, or with its password over TCP; every other role
# (the services' owners and app roles) with its password, over either.
HBA = """# Written by infra/local/postgres.py at every start: edits here are lost.
local all postgres peer
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclass
class PostgresNode:
    home: Path  # holds data/, postgres.log, superuser password, socket
    port: int

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """Where its Unix-domain socket is (`.s.PGSQL.<port>`), for a DSN's `host`."""
        return self.home

    @property
    def password(self) -> str:
        return (self.home / "superuser.password").read_text().strip()

    def superuser_dsn(self, db: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{db}"

    def _init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        _own(self.home)
        if (self.data / "PG_VERSION").exists():
            return
        pwfile = self.home / "superuser.password"
        pwfile.write_text(secrets.token_urlsafe(18) + "\n")
        pwfile.chmod(0o600)
        _own(pwfile)
        _run([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--pwfile", str(pwfile),
              "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256"])

    def running(self) -> bool:
        st = subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "status"]),
                            capture_output=True)
        return st.returncode == 0

    def _hba(self) -> bool:
        """Write pg_hba.conf (HBA); True if that changed it."""
        hba = self.data / "pg_hba.conf"
        if hba.read_text() == HBA:
            return False
        hba.write_text(HBA)
        return True

    def start(self) -> None:
        self._init()
        if self.running():
            if self._hba():
                _run([pg_bin("pg_ctl"), "-D", str(self.data), "reload"])
            return
        self._hba()
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.socket_dir} -c max_connections=200 "
                "-c shared_buffers=128MB -c fsync=on "
                # Tried for less CPU per commit and not kept (wave 6): commit_delay (intake's
                # commits queue on the audit chain's lock, so none flush together: 0.98 → 1.04 WAL
                # syncs per commit), wal_sync_method=open_datasync (300 → 298 µs of backend CPU per
                # commit), wal_compression=lz4 (−2 % WAL after a checkpoint: random uuids).
                # e.g. "-c shared_preload_libraries=pg_stat_statements" to profile a benchmark
                + os.environ.get("TSUNAGU_POSTGRES_OPTIONS", ""))
        try:
            _run([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w",
                  "-t", "60", "start"])
        except RuntimeError as exc:
            tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            raise RuntimeError(f"{exc}\n{tail}") from None
        proc.wait_port(self.port, 30, "PostgreSQL", self.log)

    def stop(self, mode: str = "fast") -> None:
        if self.data.exists() and self.running():
            _run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
