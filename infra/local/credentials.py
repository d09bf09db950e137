"""Generated passwords of the broker's principals, kept in the stack's home (never committed)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


class Credentials:
    """principal -> password, in one JSON file readable by this user only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def password(self, principal: str) -> str:
        """The principal's password, generated on first use."""
        known = self._load()
        if principal not in known:
            known[principal] = secrets.token_hex(24)  # hex: safe in JAAS and SCRAM arguments
            write_private(self.path, json.dumps(known, indent=2).encode())
        return known[principal]


def write_private(path: Path, data: bytes) -> None:
    """Write a file only this user may read (it holds a password or a private key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
