"""Generated passwords of the broker's principals, kept in the stack's home (never committed)."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
from pathlib import Path

_THREADS = threading.Lock()  # flock does not exclude threads of one process from each other


class Credentials:
    """principal -> password, in one JSON file readable by this user only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def password(self, principal: str) -> str:
        """The principal's password, generated on first use. Services start in parallel (the
        bench's stack starts them from threads, `make up` from processes), each adding its own:
        read-modify-write under a lock, and a reader never sees a half-written file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _THREADS, open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            known = self._load()
            if principal not in known:
                known[principal] = secrets.token_hex(24)  # hex: safe in JAAS and SCRAM arguments
                write_private(self.path, json.dumps(known, indent=2).encode())
            return known[principal]


def write_private(path: Path, data: bytes) -> None:
    """Write a file only this user may read (it holds a password or a private key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(part, path)  # whole or not at all
