"""Several handlers of one event type all run: a service that handles ConsentWithdrawn itself
still keeps its consent view (real Kafka and PostgreSQL of the test stack)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter

from contracts.envelope import Envelope, EventData
from contracts.events.intake import ConsentGranted, ConsentWithdrawn
from contracts.registry import source, spec_for
from infra.local import databases
from infra.local.stack import Stack
from kit import views
from kit.db import create_pool
from kit.inbox import HandlerContext, InboxConsumer
from kit.metrics import Metrics
from kit.migrate import migrate
from kit.service import ServiceDefinition, consumed, merge_handlers
from kit.settings import ServiceSettings
from kit.tests.conftest import kit_settings
from tests.helpers import eventually

SERVICE = "kithandlers"


@pytest.fixture
async def settings(stack: Stack) -> ServiceSettings:
    return await kit_settings(stack, SERVICE)


@pytest.fixture
async def pool(settings: ServiceSettings, stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    await migrate(databases.owner_dsn(stack.postgres_port, SERVICE), f"tsunagu_{SERVICE}_app",
                  SERVICE, Path(__file__).parent / "no-migrations")
    p = await create_pool(settings.database_url)
    yield p
    await p.close()


def test_merging_keeps_every_handler_in_order() -> None:
    async def own(event: ConsentWithdrawn, ctx: HandlerContext) -> None: ...

    merged = merge_handlers(views.HANDLERS, {ConsentWithdrawn: [own]})
    assert merged[ConsentWithdrawn] == [*views.HANDLERS[ConsentWithdrawn], own]
    assert merged[ConsentGranted] == views.HANDLERS[ConsentGranted]


def test_what_a_service_applied_at_once_is_not_read_back_and_only_its_own() -> None:
    def definition(name: str, *applied: type[EventData]) -> ServiceDefinition:
        return ServiceDefinition(name, name, "", APIRouter(), Path("."), applied_at_once=applied)

    handlers = consumed(definition("intake", ConsentGranted, ConsentWithdrawn))
    assert {t: h for t, h in views.HANDLERS.items() if t not in (ConsentGranted, ConsentWithdrawn)
            } == handlers  # every other view is still kept from the broker
    with pytest.raises(ValueError, match="not its events"):  # referral's come through the broker
        consumed(definition("referral", ConsentGranted))


async def test_a_service_handling_consent_withdrawn_still_updates_its_consent_view(
        pool: asyncpg.Pool, settings: ServiceSettings, stack: Stack) -> None:
    at = datetime.now(UTC)
    granted = ConsentGranted(consent_id=uuid.uuid4(), person_id=uuid.uuid4(), agencies=("*",),
                             purposes=("support",), valid_from=at)
    withdrawn = ConsentWithdrawn(consent_id=granted.consent_id, person_id=granted.person_id,
                                 withdrawn_at=at)
    own_saw: list[uuid.UUID] = []

    async def own(event: ConsentWithdrawn, ctx: HandlerContext) -> None:
        own_saw.append(event.consent_id)

    producer = AIOKafkaProducer(**stack.kafka.client())
    await producer.start()
    try:
        for event in (granted, withdrawn):
            await producer.send_and_wait("intake.events", event.model_dump_json().encode(),
                                         key=str(granted.person_id).encode(),
                                         headers=_headers(event, str(granted.consent_id)))
    finally:
        await producer.stop()

    handlers = merge_handlers(views.HANDLERS, {ConsentWithdrawn: [own]})
    consumer = InboxConsumer(pool, settings, handlers, Metrics())
    task = asyncio.create_task(consumer.run())

    async def both_applied() -> bool:
        ended = await pool.fetchval("SELECT withdrawn_at FROM consent_view WHERE consent_id = $1",
                                    granted.consent_id)
        return ended is not None and granted.consent_id in own_saw
    try:
        await eventually(both_applied, timeout=60, what="the view and the service's own handler")
    finally:
        consumer.stop()
        await task
    assert own_saw.count(granted.consent_id) == 1


def _headers(event: EventData, subject: str) -> list[tuple[str, bytes]]:
    spec = spec_for(event)
    return Envelope(id=uuid.uuid4(), type=spec.ce_type, source=source(spec.service), time=datetime.now(UTC),
                    subject=subject, dataschema=spec.dataschema, sensitivity="personal",
                    municipality="132187").headers()
