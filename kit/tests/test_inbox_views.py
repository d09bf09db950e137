"""The views lane (kit/service.py `lanes`): a topic a service reads only for the kit's access views
is read by a consumer of its own group in batched fetches, and the main consumer no longer wakes
for it. Its events still reach the view, a withdrawal still ends a consent, and a rolling deploy
from the one consumer of before goes on where that consumer stopped, each event applied once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

import asyncpg
import pytest
from aiokafka import TopicPartition
from aiokafka.coordinator.protocol import ConsumerProtocol
from aiokafka.protocol.admin import DescribeGroupsRequest_v1, DescribeGroupsRequest_v2
from aiokafka.protocol.api import Request

from contracts.events.intake import ConsentWithdrawn
from contracts.registry import spec_for
from infra.local.catalog import SERVICES, STREAM_SERVICES
from infra.local.kafka_admin import started_admin
from infra.local.stack import Stack
from kit import views
from kit.db import create_pool
from kit.inbox import InboxConsumer
from kit.kafka import views_group
from kit.metrics import Metrics
from kit.service import consumed, lanes
from kit.settings import ServiceSettings
from kit.tests.conftest import commit_offsets, migrated_settings
from kit.tests.test_inbox_fast import _granted, _publish
from tests.helpers import eventually

SERVICE = "kitviews"  # its database, its groups (kitviews, kitviews-views), its dead letters
TOPIC = "intake.events"
VIEWERS = sorted(SERVICES.keys() - STREAM_SERVICES)


def _definition(service: str) -> Any:
    return import_module(f"services.{service}.app").DEFINITION


@pytest.mark.parametrize("service", VIEWERS)
def test_a_topic_goes_to_the_views_lane_only_when_nothing_but_the_kits_views_read_it(
        service: str) -> None:
    definition = _definition(service)
    handlers = consumed(definition)
    main, viewed = lanes(definition)
    assert not set(main) & set(viewed)
    assert set(main) | set(viewed) == {spec_for(t).topic for t in handlers}
    kits = {id(h) for hs in views.HANDLERS.values() for h in hs}
    for t, hs in handlers.items():
        if spec_for(t).topic in viewed:
            assert all(id(h) in kits for h in hs), f"{service}: {t.__name__} has its own handler"
        else:  # a main-lane topic carries at least one handler of the service's own
            assert any(u in definition.handlers for u in handlers if spec_for(u).topic
                       == spec_for(t).topic)


def test_the_skipped_records_of_the_journey_leave_the_main_consumers() -> None:
    # Notifications read intake.events for consents only, intake read referral.events for the
    # directory only: every ConsultationReceived / ReferralRequested woke them for nothing.
    assert lanes(_definition("notifications"))[1] == ["intake.events"]
    assert "referral.events" in lanes(_definition("intake"))[1]
    assert lanes(_definition("referral"))[1] == []  # it handles all it reads itself


class _DescribeGroups(Request[DescribeGroupsRequest_v1 | DescribeGroupsRequest_v2]):  # type: ignore[misc]
    """DescribeGroups at v1-v2: aiokafka 0.14's describe_consumer_groups asks for v3 and reads
    the answer with v2's schema (its DescribeGroupsRequest_v3.RESPONSE_TYPE), which fails."""
    API_KEY = 15

    def __init__(self, groups: list[str]) -> None:
        self.groups = groups

    def build(self, request_struct_class: type[Any]) -> Any:
        return request_struct_class(self.groups)


async def test_the_running_services_subscribe_each_lane_to_its_own_topics(stack: Stack) -> None:
    """What the broker says each group's members subscribe to, in the running services."""
    groups = [g for s in ("intake", "notifications") for g in (s, views_group(s))]

    async def subscriptions() -> dict[str, set[str]] | None:
        admin = await started_admin(stack.kafka.client())
        try:
            seen: dict[str, set[str]] = {}
            for group in groups:
                answer = await admin._send_request(_DescribeGroups([group]),
                                                   await admin.find_coordinator(group))
                for g in answer.to_object()["groups"]:
                    if g["state"] == "Stable":
                        seen[g["group"]] = {t for m in g["members"] for t in ConsumerProtocol.
                                            METADATA.decode(m["member_metadata"]).subscription}
        finally:
            await admin.close()
        return seen if seen.keys() == set(groups) else None

    seen = await eventually(subscriptions, timeout=60, what="every lane's group stable")
    for service in ("intake", "notifications"):
        main, viewed = lanes(_definition(service))
        assert seen[service] == set(main)
        assert seen[views_group(service)] == set(viewed)


@pytest.fixture(scope="module")
async def settings(stack: Stack) -> ServiceSettings:
    return await migrated_settings(stack, SERVICE)


@pytest.fixture
async def pool(settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(settings.database_url)
    yield p
    await p.close()


class _Running:
    """A consumer run in the background until `stop`."""

    def __init__(self, pool: asyncpg.Pool, settings: ServiceSettings, lane: bool) -> None:
        self.metrics = Metrics()
        self.consumer = InboxConsumer(pool, settings, views.HANDLERS, self.metrics,
                                      topics=[TOPIC], views=lane)
        self.task = asyncio.create_task(self.consumer.run())

    def duplicates(self) -> float:
        return self.metrics.registry.get_sample_value("inbox_duplicates_total",
                                                      {"consumer": SERVICE}) or 0.0

    async def stop(self) -> None:
        self.consumer.stop()
        await self.task


def _withdrawal(consent_id: uuid.UUID) -> ConsentWithdrawn:
    return ConsentWithdrawn(consent_id=consent_id, person_id=uuid.uuid4(),
                            withdrawn_at=datetime.now(UTC))


async def _state(pool: asyncpg.Pool, consent_id: uuid.UUID) -> str | None:
    row = await pool.fetchrow("SELECT withdrawn_at FROM consent_view WHERE consent_id = $1",
                              consent_id)
    return None if row is None else ("withdrawn" if row["withdrawn_at"] else "granted")


def _is(pool: asyncpg.Pool, consent_id: uuid.UUID, state: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return await _state(pool, consent_id) == state
    return probe


async def test_a_rolling_deploy_goes_on_where_the_one_consumer_stopped_and_views_stay_fed(
        stack: Stack, settings: ServiceSettings, pool: asyncpg.Pool) -> None:
    ends = await commit_offsets(stack, SERVICE, TOPIC)  # the service group reads only this test's
    # The version before the lanes: one consumer, every topic, in the service's group.
    old = _Running(pool, settings, lane=False)
    before = _granted()
    [seed] = await _publish(stack, [before])
    await eventually(_is(pool, before.consent_id, "granted"), timeout=60, what="the old consumer's grant")
    await old.stop()  # ...commits its offset in the service's group on its way out

    # The new version's views lane: a group with no offsets yet, started at the old one's.
    granted, ended = _granted(), _withdrawal(before.consent_id)
    await _publish(stack, [granted, ended])
    lane = _Running(pool, settings, lane=True)
    try:
        await eventually(_is(pool, granted.consent_id, "granted"), timeout=60,
                         what="a grant through the views lane")
        await eventually(_is(pool, before.consent_id, "withdrawn"), timeout=60,
                         what="a withdrawal through the views lane")
        # Seeded, not read from the beginning: nothing before the old consumer's offset claimed
        # again (not even the old grant, which would only have counted as a duplicate).
        assert lane.duplicates() == 0
        assert await pool.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer = $1 AND topic = $2 AND partition = 0 "
            "AND kafka_offset < $3 AND kafka_offset >= $4", SERVICE, TOPIC, seed,
            ends[TopicPartition(TOPIC, 0)]) == 0

        # Both versions running at once (the deploy's overlap): the old one comes back at its
        # offset and finds the two events the lane applied already, then each reads the next
        # two; the one inbox name makes every one applied once and a duplicate to the other.
        old = _Running(pool, settings, lane=False)
        late = _granted()
        await _publish(stack, [late, _withdrawal(late.consent_id)])
        await eventually(_is(pool, late.consent_id, "withdrawn"), timeout=60, what="the overlap's events")

        async def skipped_by_one() -> bool:
            return old.duplicates() + lane.duplicates() >= 4
        await eventually(skipped_by_one, timeout=60, what="each event a duplicate to one version")
        assert await pool.fetchval("SELECT count(*) FROM dead_letters WHERE consumer = $1",
                                   SERVICE) == 0
    finally:
        await lane.stop()
        await old.stop()
