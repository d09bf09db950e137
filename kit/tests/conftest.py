"""The kit's tests run against the test stack's PostgreSQL and Kafka in a database of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import SecretStr

from infra.local import databases
from infra.local.stack import Stack
from infra.local.topics import declared
from kit.db import create_pool
from kit.migrate import migrate
from kit.settings import ServiceSettings

SERVICE = "kittest"
NO_MIGRATIONS = Path(__file__).parent / "no-migrations"


async def commit_offsets(stack: Stack, group: str, topic: str,
                         at: dict[int, int] | None = None) -> dict[TopicPartition, int]:
    """Commit `group`'s offsets on a declared `topic`: every partition's end, or `at` (partition:
    offset, as if a consumer had crashed before committing past it). Returns the ends. A test's
    consumer group so reads only what the test publishes."""
    count = {t["name"]: t["partitions"] for t in declared()}[topic]
    partitions = [TopicPartition(topic, p) for p in range(count)]
    consumer = AIOKafkaConsumer(**stack.kafka.client(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        await consumer.commit(ends if at is None else {TopicPartition(topic, p): o
                                                       for p, o in at.items()})
        return ends
    finally:
        await consumer.stop()


async def kit_settings(stack: Stack, service: str, **overrides: object) -> ServiceSettings:
    """Settings of a kit test's own little "service": its database, its dead-letter topic, and
    the admin's Kafka credentials (it is no service of the ACL file)."""
    await databases.provision(stack.postgres.superuser_dsn(), service)
    admin = AIOKafkaAdminClient(**stack.kafka.client())
    await admin.start()
    try:
        if f"{service}.dlt" not in await admin.list_topics():
            await admin.create_topics([NewTopic(f"{service}.dlt", 1, 1)])
    finally:
        await admin.close()
    values: dict[str, object] = {
        "service": service, "kafka_bootstrap": stack.kafka.bootstrap, "kafka_username": "admin",
        "kafka_password": SecretStr(stack.kafka.credentials.password("admin")),
        "kafka_ca_file": str(stack.kafka.ca_file),
        "database_url": databases.service_dsn(stack.postgres_port, service),
        "migration_database_url": databases.owner_dsn(stack.postgres_port, service),
        "consumer_retry_seconds": 0.05, **overrides}
    return ServiceSettings.model_validate(values)


async def migrated_settings(stack: Stack, service: str) -> ServiceSettings:
    """`kit_settings` of a kit test's database, which has the kit's tables (and nothing else)."""
    settings = await kit_settings(stack, service)
    assert settings.migration_database_url
    await migrate(settings.migration_database_url, f"tsunagu_{service}_app", service,
                  NO_MIGRATIONS)
    return settings


@asynccontextmanager
async def kit_pool(stack: Stack, service: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a kit test's own database with the kit's tables (and nothing else)."""
    await databases.provision(stack.postgres.superuser_dsn(), service)
    await migrate(databases.owner_dsn(stack.postgres_port, service), f"tsunagu_{service}_app",
                  service, NO_MIGRATIONS)
    p = await create_pool(databases.service_dsn(stack.postgres_port, service))
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture(scope="module")
async def settings(stack: Stack) -> ServiceSettings:
    return await kit_settings(stack, SERVICE)


@pytest.fixture
async def pool(settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    assert settings.migration_database_url
    await migrate(settings.migration_database_url, "tsunagu_kittest_app", SERVICE, NO_MIGRATIONS)
    p = await create_pool(settings.database_url)
    await p.execute("DELETE FROM outbox; DELETE FROM inbox; DELETE FROM dead_letters")
    yield p
    await p.close()
