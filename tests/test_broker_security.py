"""The broker lets no one in where they do not belong, against the real, secured broker:
authentication (SASL/SCRAM over TLS), each principal's ACLs, a division's own subscription,
and consumers that believe a stream only from its owner."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from aiokafka.helpers import create_ssl_context

from contracts.envelope import Envelope, EventData
from contracts.events.intake import ConsentGranted, ConsultationReceived
from contracts.registry import SPECS, spec_for
from infra.examples.division_consumer import Event, consume
from infra.local import divisions
from infra.local.acls import grants, secure, service_acls
from infra.local.kafka_admin import Binding, acls_of, create_acls, started_admin
from infra.local.stack import Stack
from tests.helpers import bearer, consultation, eventually, read_dead_letters

Connect = Callable[[str], Awaitable[asyncpg.Connection]]
REFUSED_WITHIN = 30.0


def _headers(event: EventData, source: str, type_: str | None = None) -> list[tuple[str, bytes]]:
    spec = spec_for(event)
    return Envelope(id=uuid.uuid4(), type=type_ or spec.ce_type, source=source,
                    time=datetime.now(UTC), subject=spec.key(event), dataschema=spec.dataschema,
                    sensitivity=spec.sensitivity, municipality="132187").headers()


def _consultation() -> ConsultationReceived:
    return ConsultationReceived(consultation_id=uuid.uuid4(), received_at=datetime.now(UTC),
                                channel="visit", receiving_division="介護福祉課",
                                categories=("8050",), urgency="high", destination_kind="general_desk")


async def _refused(**client: Any) -> None:
    producer = AIOKafkaProducer(**client, request_timeout_ms=5000)
    try:
        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(producer.start(), REFUSED_WITHIN)
    finally:
        await producer.stop()


async def _read_refused(client: dict[str, Any], topic: str) -> None:
    """The broker refuses this principal `topic`'s records: it does not even describe the topic
    (metadata answers TopicAuthorizationFailed), or, where it may (a topic it writes), fetching
    is refused."""
    admin = AIOKafkaAdminClient(**client)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] == TopicAuthorizationFailedError.errno:
        return
    reader = AIOKafkaConsumer(**client, auto_offset_reset="earliest")
    await reader.start()
    try:
        reader.assign([TopicPartition(topic, 0)])
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(reader.getone(), REFUSED_WITHIN)
    finally:
        await reader.stop()


async def test_a_client_without_credentials_with_wrong_ones_or_over_plaintext_is_refused(
        stack: Stack) -> None:
    bootstrap, tls = stack.kafka.bootstrap, create_ssl_context(cafile=str(stack.kafka.ca_file))
    await _refused(bootstrap_servers=bootstrap)  # plaintext: there is no plaintext listener
    await _refused(bootstrap_servers=bootstrap, security_protocol="SSL", ssl_context=tls)
    wrong = {**stack.kafka.client("intake"), "sasl_plain_password": "not-the-password"}
    await _refused(**wrong)
    unknown = {**stack.kafka.client("intake"), "sasl_plain_username": "mallory"}
    await _refused(**unknown)
    # A broker that is not ours (any other CA) is refused by the client in turn.
    await _refused(**{**stack.kafka.client("intake"), "ssl_context": create_ssl_context()})

    async def logged() -> bool:
        return "Failed authentication" in stack.kafka.log.read_text(errors="replace")
    await eventually(logged, what="failed authentications in the broker's log")


async def test_each_service_writes_its_own_stream_and_not_anothers(stack: Stack) -> None:
    streams = {"intake": "intake.events", "referral": "referral.events",
               "meetings": "meetings.events", "notifications": "notifications.events"}
    for service, own in streams.items():
        producer = AIOKafkaProducer(**stack.kafka.client(service), acks="all",
                                    enable_idempotence=True)
        await producer.start()
        try:
            # A type no consumer knows, from the right source: read past by every consumer.
            probe = _consultation()
            headers = _headers(probe, f"/tsunagu/{service}", f"jp.tsunagu.{service}.probe.v1")
            await producer.send_and_wait(own, b"{}", headers=headers)
            await producer.send_and_wait(f"{service}.dlt", b"{}")
            await producer.send_and_wait("access.events", b"{}", headers=headers)
            for other in [t for t in streams.values() if t != own] + ["intake.dlt" if
                                                                      service != "intake" else
                                                                      "referral.dlt"]:
                with pytest.raises(TopicAuthorizationFailedError):
                    await producer.send_and_wait(other, b"forged")
        finally:
            await producer.stop()

    async def denied() -> bool:
        return "User:referral is Denied operation = WRITE" in stack.kafka.log.read_text(
            errors="replace")
    await eventually(denied, what="the denied write in the broker's log")


async def test_a_service_reads_only_its_subscriptions_in_its_own_group(stack: Stack) -> None:
    # referral consumes intake.events, meetings.events and its own stream (the directory every
    # service keeps a view of), nothing of notifications'.
    client = stack.kafka.client("referral")
    reader = AIOKafkaConsumer(**client, auto_offset_reset="earliest")
    await reader.start()
    try:
        reader.assign([TopicPartition("intake.events", 0)])
        await reader.getmany(timeout_ms=1000)  # permitted: no error
    finally:
        await reader.stop()
    for topic in ("access.events", "notifications.events", "referral.dlt"):
        await _read_refused(client, topic)
    grouped = AIOKafkaConsumer("intake.events", **stack.kafka.client("referral"),
                               group_id="notifications")  # another service's group
    with pytest.raises(GroupAuthorizationFailedError):
        await asyncio.wait_for(grouped.start(), REFUSED_WITHIN)
    await grouped.stop()


async def test_the_acl_step_leaves_each_principal_exactly_its_declared_grants(stack: Stack) -> None:
    declared = {acl.row for acl in service_acls() if acl.principal == "User:plans"}
    stray = grants("plans", read=["referral.events"])[0].row  # granted by hand, say
    admin = await started_admin(stack.kafka.client())
    try:
        async def held() -> set[Binding]:
            return await acls_of(admin, "User:plans")

        async def holds(expected: set[Binding]) -> bool:
            return await held() == expected
        await create_acls(admin, [stray])
        await eventually(lambda: holds(declared | {stray}), what="the stray grant")
        await secure(admin, {"plans": stack.kafka.credentials.password("plans")}, service_acls())
        await eventually(lambda: holds(declared), what="only the declared grants")
    finally:
        await admin.close()


async def test_a_division_reads_its_permitted_topic_and_is_refused_the_others(
        stack: Stack, http: httpx.AsyncClient) -> None:
    # Kafka grants whole topics: a division taking referral.events registers each of its types.
    on_referral = [s.name for s in SPECS if s.topic == "referral.events"]
    division = divisions.validate(f"kaigo-{uuid.uuid4().hex[:6]}", on_referral, False)
    connection = await divisions.register(stack.kafka, division)
    client = stack.kafka.client(division.principal)
    posted = await http.post(stack.url("intake") + "/consultations", json=consultation("konkyu"),
                             headers=bearer(stack.token("w-kaigo")))
    assert posted.status_code == 201, posted.text

    # The documented example consumer reads it, checked against the AsyncAPI document and schema.
    async def ours(event: Event) -> bool:
        return bool(event.data.get("consultation_id") == posted.json()["id"])
    await asyncio.wait_for(consume(json.loads(connection.read_text()), ours), 60)

    for topic in ("intake.events", "meetings.events", "access.events", "referral.dlt"):
        await _read_refused(client, topic)
    writer = AIOKafkaProducer(**client)
    await writer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await writer.send_and_wait("referral.events", b"a division writes nothing")
    finally:
        await writer.stop()


async def test_an_event_forged_by_a_non_owner_is_dead_lettered_not_applied(
        stack: Stack, db: Connect) -> None:
    forged = _consultation()
    consent = ConsentGranted(consent_id=uuid.uuid4(), person_id=uuid.uuid4(), agencies=("*",),
                             purposes=("support",), valid_from=datetime.now(UTC))
    # The super user writes referral's name onto intake's stream; referral itself, authorised
    # on its own stream, writes a consent there as if it were intake.
    admin = AIOKafkaProducer(**stack.kafka.client())
    referral = AIOKafkaProducer(**stack.kafka.client("referral"))
    await admin.start()
    await referral.start()
    try:
        await admin.send_and_wait("intake.events", forged.model_dump_json().encode(),
                                  key=str(forged.consultation_id).encode(),
                                  headers=_headers(forged, "/tsunagu/referral"))
        await referral.send_and_wait("referral.events", consent.model_dump_json().encode(),
                                     key=str(consent.person_id).encode(),
                                     headers=_headers(consent, "/tsunagu/referral"))
    finally:
        await admin.stop()
        await referral.stop()

    key = str(forged.consultation_id)
    dead = (await read_dead_letters(stack, "referral.dlt", {key}))[key]
    assert dead["dlt_reason"] == ("source /tsunagu/referral is not the owner of intake.events "
                                  "(/tsunagu/intake)")
    key = str(consent.person_id)
    dead = (await read_dead_letters(stack, "notifications.dlt", {key}))[key]
    assert dead["dlt_reason"] == f"{spec_for(consent).ce_type} belongs on intake.events, not on " \
                                 "referral.events"

    conn = await db("referral")
    try:
        assert await conn.fetchval("SELECT count(*) FROM referrals WHERE consultation_id = $1",
                                   forged.consultation_id) == 0
    finally:
        await conn.close()
    conn = await db("notifications")
    try:
        assert await conn.fetchval("SELECT count(*) FROM consent_view WHERE consent_id = $1",
                                   consent.consent_id) == 0
    finally:
        await conn.close()
