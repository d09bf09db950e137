"""A poison event goes to the consumer's dead-letter topic with its reason; the rest flows on.

Poison: unreadable headers, a payload its contract refuses, a type no contract names (a newer
version than the consumer knows). Not poison: a contract's type the consumer does not handle
(another service's event on a shared topic), ignored and counted."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope, EventData
from contracts.events.intake import ConsultationReceived, PersonRegistered
from contracts.registry import spec_for
from infra.local.stack import Stack
from tests.helpers import Connect, bearer, consultation, delivered, eventually, read_dead_letters


def _envelope(key: str, model: type[EventData] = ConsultationReceived, type_: str | None = None
              ) -> Envelope:
    spec = spec_for(model)
    return Envelope(id=uuid.uuid4(), type=type_ or spec.ce_type, source="/tsunagu/intake",
                    time=datetime.now(UTC), subject=key, dataschema=spec.dataschema,
                    sensitivity="personal", municipality="132187")


async def test_poison_events_are_dead_lettered_and_the_stream_goes_on(
        stack: Stack, http: httpx.AsyncClient, db: Connect) -> None:
    no_headers, bad_payload = f"poison-{uuid.uuid4()}", f"poison-{uuid.uuid4()}"
    newer, unhandled = str(uuid.uuid4()), str(uuid.uuid4())
    before = await _metrics(http, stack)
    v2 = spec_for(ConsultationReceived).ce_type.replace(".v1", ".v2")
    valid = {"consultation_id": newer, "received_at": datetime.now(UTC).isoformat(),
             "channel": "visit", "receiving_division": "d", "categories": [], "urgency": "normal",
             "destination_kind": "general_desk"}
    producer = AIOKafkaProducer(**stack.kafka.client("intake"))  # the stream's owner, misbehaving
    await producer.start()
    try:
        sent = [
            await producer.send_and_wait("intake.events", b"not json at all",
                                         key=no_headers.encode()),
            await producer.send_and_wait("intake.events", json.dumps({"consultation_id": 42}).encode(),
                                         key=bad_payload.encode(),
                                         headers=_envelope(bad_payload).headers()),
            await producer.send_and_wait("intake.events", json.dumps(valid).encode(),
                                         key=newer.encode(), headers=_envelope(newer, type_=v2).headers())]
        # Referral does not handle person registrations: not its business, not poison.
        await producer.send_and_wait("intake.events", json.dumps({"person_id": unhandled}).encode(),
                                     key=unhandled.encode(),
                                     headers=_envelope(unhandled, PersonRegistered).headers())
    finally:
        await producer.stop()

    posted = await http.post(stack.url("intake") + "/consultations", json=consultation("konkyu"),
                             headers=bearer(stack.token("w-kaigo")))
    assert posted.status_code == 201, posted.text

    async def inbox() -> Any:
        return await delivered(http, stack, "konkyu", bearer(stack.token("a-konkyu")),
                               posted.json()["id"])

    await eventually(inbox, what="the event behind the poison")

    dead = await read_dead_letters(stack, "referral.dlt", {no_headers, bad_payload, newer})
    assert dead[no_headers]["value"] == b"not json at all"  # the event itself, untouched
    assert "unreadable CloudEvents headers" in dead[no_headers]["dlt_reason"]
    assert "payload does not match" in dead[bad_payload]["dlt_reason"]
    assert dead[bad_payload]["dlt_source_topic"] == "intake.events"
    assert dead[bad_payload]["dlt_consumer"] == "referral"

    assert f"unknown event type {v2}" in dead[newer]["dlt_reason"]

    # Exactly one record per dead event, and the counters moved by this test's events alone.
    referral = await db("referral")
    try:
        for meta in sent:
            assert await referral.fetchval(
                "SELECT count(*) FROM dead_letters WHERE topic = 'intake.events' AND partition = $1 "
                "AND kafka_offset = $2 AND published_at IS NOT NULL", meta.partition, meta.offset) == 1
    finally:
        await referral.close()
    after = await _metrics(http, stack)
    assert after["dead_letters_total"] - before["dead_letters_total"] == 3
    assert after["dead_letters_stored"] - before["dead_letters_stored"] == 3
    assert after["not_subscribed"] - before["not_subscribed"] >= 1


async def _metrics(http: httpx.AsyncClient, stack: Stack) -> dict[str, float]:
    """The referral consumer's dead-letter and ignored-event counts (operators: no token)."""
    text = (await http.get(stack.url("referral") + "/metrics")).text
    wanted = {'dead_letters_total{consumer="referral"}': "dead_letters_total",
              "dead_letters_stored": "dead_letters_stored",
              'events_ignored_total{consumer="referral",reason="not subscribed"}': "not_subscribed"}
    found = dict.fromkeys(wanted.values(), 0.0)
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in wanted:
            found[wanted[name]] = float(value)
    return found

