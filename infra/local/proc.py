"""Background processes with pid files: start once, reuse while alive, stop gracefully."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def pid_alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def spawn(cmd: list[str], log: Path, pidfile: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> int:
    """Start `cmd` detached (own session), stdout+stderr appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
    pidfile.write_text(str(proc.pid))
    return proc.pid


def stop(pidfile: Path, timeout: float = 20.0, sig: int = signal.SIGTERM) -> bool:
    """Send `sig`, wait for exit, SIGKILL after `timeout`. Returns True if something was stopped."""
    pid = pid_alive(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    _signal(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid):
            break
        time.sleep(0.1)
    else:
        _signal(pid, signal.SIGKILL)
        while not _reap(pid):
            time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    return True


def _signal(pid: int, sig: int) -> None:
    """SIGKILL takes the whole session `spawn` started (a uvicorn with --workers: its workers
    would outlive it, holding the port); other signals go to the process, which passes them on."""
    if sig == signal.SIGKILL and os.getpgid(pid) == pid:
        os.killpg(pid, sig)
    else:
        os.kill(pid, sig)


def _reap(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def wait_port(port: int, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f}s\n{tail}")
