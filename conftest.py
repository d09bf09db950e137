"""Shared fixtures: a real Kafka broker, a real PostgreSQL cluster and the services,
started as processes in a temporary directory on ports of their own (infra/local), so a
development stack started by `make up` is never touched."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from infra.local import databases
from infra.local.catalog import SERVICES, STREAM_SERVICES
from infra.local.stack import Stack

# Fixed test ports (a `make up` stack uses others); TSUNAGU_TEST_PORT_OFFSET shifts them all,
# for two suites on one machine.
OFFSET = int(os.environ.get("TSUNAGU_TEST_PORT_OFFSET", "0"))
TEST_PORTS = {name: port + 10000 + OFFSET for name, port in SERVICES.items()}
SEED_DIRECTORY = Path(__file__).parent / "services" / "referral" / "directory.json"
SMTP_PORT = 28900 + OFFSET
ZIPKIN_PORT = 19411 + OFFSET  # the trace viewer of the tests' stack (tests/test_tracing.py)
EMAIL_ADDRESSES = {"a-houkatsu": "houkatsu-staff@houkatsu.example.jp", "c-desk": "c-desk@city.example.jp"}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # Not pytest's tmp_path: its root is private to us, and PostgreSQL runs as its own user.
    home = Path(tempfile.mkdtemp(prefix="tsunagu-test-"))
    home.chmod(0o755)
    # The directory as an operator keeps it: a copy the tests may edit, read again 4 times a second.
    directory = home / "directory.json"
    shutil.copyfile(SEED_DIRECTORY, directory)
    addresses = home / "email-addresses.json"  # the operator's file: staff's work addresses
    addresses.write_text(json.dumps(EMAIL_ADDRESSES))
    s = Stack(home=home, kafka_port=29092 + OFFSET, kafka_controller_port=29093 + OFFSET,
              postgres_port=55433 + OFFSET, idp_port=18009 + OFFSET, service_ports=dict(TEST_PORTS),
              zipkin_port=ZIPKIN_PORT,
              extra_env={"TSUNAGU_RELAY_POLL_SECONDS": "0.5", "TSUNAGU_LOG_LEVEL": "INFO",
                         "REFERRAL_DIRECTORY_FILE": str(directory),
                         "REFERRAL_DIRECTORY_RELOAD_SECONDS": "0.25", "REFERRAL_TIMER_SECONDS": "0.5",
                         "OUTREACH_TIMER_SECONDS": "0.5",
                         "PLANS_TIMER_SECONDS": "0.5",
                         "TSUNAGU_CLOCK_FILE": str(home / "clock-offset"),
                         # notifications: webhooks to the tests' loopback receivers, retried fast
                         "NOTIFICATIONS_WEBHOOK_ALLOW_LOOPBACK": "true",
                         "NOTIFICATIONS_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
                         "NOTIFICATIONS_WEBHOOK_RETRY_CAP_SECONDS": "0.5",
                         "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS": "3",
                         "NOTIFICATIONS_WEBHOOK_POLL_SECONDS": "0.2",
                         # ...and e-mail to the SMTP server tests/test_notifications.py runs
                         "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
                         "NOTIFICATIONS_SMTP_PORT": str(SMTP_PORT), "NOTIFICATIONS_SMTP_STARTTLS": "false",
                         "NOTIFICATIONS_EMAIL_POLL_SECONDS": "0.3",
                         "NOTIFICATIONS_DIGEST_HOUR": "0", "NOTIFICATIONS_DIGEST_POLL_SECONDS": "1",
                         "NOTIFICATIONS_EMAIL_ADDRESSES_FILE": str(addresses)})
    try:
        s.start_infra()
        for name in SERVICES:
            if name not in STREAM_SERVICES:  # started by the tests that use them (test_statistics)
                s.start_service(name)
        s.wait_directory()
        yield s
    finally:
        s.down()
    shutil.rmtree(home, ignore_errors=True)  # kept for inspection when start-up failed


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def db(stack: Stack) -> Callable[[str], Awaitable[asyncpg.Connection]]:
    """Open a connection to a service's own database, for assertions on its state."""
    async def connect(service: str) -> asyncpg.Connection:
        return await asyncpg.connect(databases.service_dsn(stack.postgres_port, service))
    return connect
