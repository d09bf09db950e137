"""A poison event goes to the consumer's dead-letter topic with its reason; the rest flows on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import Envelope
from contracts.events.intake import ConsultationReceived
from contracts.registry import spec_for
from infra.local.stack import Stack
from tests.helpers import bearer, consultation, delivered, eventually


def _envelope(key: str) -> Envelope:
    spec = spec_for(ConsultationReceived)
    return Envelope(id=uuid.uuid4(), type=spec.ce_type, source="/tests", time=datetime.now(UTC),
                    subject=key, dataschema=spec.dataschema, sensitivity="personal",
                    municipality="132187")


async def test_poison_events_are_dead_lettered_and_the_stream_goes_on(
        stack: Stack, http: httpx.AsyncClient) -> None:
    no_headers, bad_payload = f"poison-{uuid.uuid4()}", f"poison-{uuid.uuid4()}"
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("intake.events", b"not json at all", key=no_headers.encode())
        await producer.send_and_wait("intake.events", json.dumps({"consultation_id": 42}).encode(),
                                     key=bad_payload.encode(),
                                     headers=_envelope(bad_payload).headers())
    finally:
        await producer.stop()

    after = await http.post(stack.url("intake") + "/consultations", json=consultation("konkyu"),
                            headers=bearer(stack.token("w-kaigo")))
    assert after.status_code == 201, after.text

    async def inbox() -> Any:
        return await delivered(http, stack, "konkyu", bearer(stack.token("a-konkyu")),
                               after.json()["id"])

    await eventually(inbox, what="the event behind the poison")

    dead = await _read_dlt(stack, "referral.dlt", {no_headers, bad_payload})
    assert dead[no_headers]["value"] == b"not json at all"  # the event itself, untouched
    assert "unreadable CloudEvents headers" in dead[no_headers]["dlt_reason"]
    assert "payload does not match" in dead[bad_payload]["dlt_reason"]
    assert dead[bad_payload]["dlt_source_topic"] == "intake.events"
    assert dead[bad_payload]["dlt_consumer"] == "referral"

    metrics = (await http.get(stack.url("referral") + "/metrics")).text  # operators: no token
    stored = next(line for line in metrics.splitlines() if line.startswith("dead_letters_stored "))
    assert float(stored.split()[1]) >= 2


async def _read_dlt(stack: Stack, topic: str, keys: set[str]) -> dict[str, dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.kafka.bootstrap,
                                group_id=f"test-{uuid.uuid4()}", auto_offset_reset="earliest")
    await consumer.start()
    found: dict[str, dict[str, Any]] = {}
    try:
        async def collect() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    key = (r.key or b"").decode()
                    if key in keys:
                        found[key] = {"value": r.value, **{k: v.decode() for k, v in r.headers}}
            return found.keys() == keys

        await eventually(collect, what="dead letters")
    finally:
        await consumer.stop()
    return found
