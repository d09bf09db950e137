"""The kit's tests run against the test stack's PostgreSQL and Kafka in a database of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import SecretStr

from infra.local import databases
from infra.local.stack import Stack
from kit.db import create_pool
from kit.migrate import migrate
from kit.settings import ServiceSettings

SERVICE = "kittest"
NO_MIGRATIONS = Path(__file__).parent / "no-migrations"


@pytest.fixture(scope="module")
async def settings(stack: Stack) -> ServiceSettings:
    await databases.provision(stack.postgres.superuser_dsn(), SERVICE)
    admin = AIOKafkaAdminClient(**stack.kafka.client())
    await admin.start()
    try:
        if f"{SERVICE}.dlt" not in await admin.list_topics():
            await admin.create_topics([NewTopic(f"{SERVICE}.dlt", 1, 1)])
    finally:
        await admin.close()
    # The kit under test is no service of the ACL file: it connects as the admin.
    return ServiceSettings(service=SERVICE, kafka_bootstrap=stack.kafka.bootstrap,
                           kafka_username="admin",
                           kafka_password=SecretStr(stack.kafka.credentials.password("admin")),
                           kafka_ca_file=str(stack.kafka.ca_file),
                           database_url=databases.service_dsn(stack.postgres_port, SERVICE),
                           migration_database_url=databases.owner_dsn(stack.postgres_port, SERVICE),
                           consumer_retry_seconds=0.05)


@pytest.fixture
async def pool(settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    assert settings.migration_database_url
    await migrate(settings.migration_database_url, "tsunagu_kittest_app", SERVICE, NO_MIGRATIONS)
    p = await create_pool(settings.database_url)
    await p.execute("DELETE FROM outbox; DELETE FROM inbox; DELETE FROM dead_letters")
    yield p
    await p.close()
