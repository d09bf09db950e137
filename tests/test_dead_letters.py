"""A poison event goes to the consumer's dead-letter topic with its reason; the rest flows on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope
from contracts.events.intake import ConsultationReceived
from contracts.registry import spec_for
from infra.local.stack import Stack
from tests.helpers import bearer, consultation, eventually, read_dead_letters


def _envelope(key: str) -> Envelope:
    spec = spec_for(ConsultationReceived)
    return Envelope(id=uuid.uuid4(), type=spec.ce_type, source="/tsunagu/intake", time=datetime.now(UTC),
                    subject=key, dataschema=spec.dataschema, sensitivity="personal",
                    municipality="132187")


async def test_poison_events_are_dead_lettered_and_the_stream_goes_on(
        stack: Stack, http: httpx.AsyncClient) -> None:
    no_headers, bad_payload = f"poison-{uuid.uuid4()}", f"poison-{uuid.uuid4()}"
    producer = AIOKafkaProducer(**stack.kafka.client("intake"))  # the stream's owner, misbehaving
    await producer.start()
    try:
        await producer.send_and_wait("intake.events", b"not json at all", key=no_headers.encode())
        await producer.send_and_wait("intake.events", json.dumps({"consultation_id": 42}).encode(),
                                     key=bad_payload.encode(),
                                     headers=_envelope(bad_payload).headers())
    finally:
        await producer.stop()

    agency = f"after-poison-{uuid.uuid4().hex[:8]}"
    assert (await http.post(stack.url("intake") + "/consultations",
                            json=consultation(agency),
                              headers=bearer(stack.token("w-kaigo")))).status_code == 201

    async def inbox() -> Any:
        return (await http.get(stack.url("notifications") + f"/inbox/{agency}",
                               headers=bearer(stack.token("a-houkatsu", agency=agency)))).json()

    await eventually(inbox, what="the event behind the poison")

    dead = await read_dead_letters(stack, "referral.dlt", {no_headers, bad_payload})
    assert dead[no_headers]["value"] == b"not json at all"  # the event itself, untouched
    assert "unreadable CloudEvents headers" in dead[no_headers]["dlt_reason"]
    assert "payload does not match" in dead[bad_payload]["dlt_reason"]
    assert dead[bad_payload]["dlt_source_topic"] == "intake.events"
    assert dead[bad_payload]["dlt_consumer"] == "referral"

    metrics = (await http.get(stack.url("referral") + "/metrics")).text  # operators: no token
    stored = next(line for line in metrics.splitlines() if line.startswith("dead_letters_stored "))
    assert float(stored.split()[1]) >= 2
