"""One consultation is one trace across intake, referral and notifications."""

from __future__ import annotations

import json
import secrets
import uuid

import httpx

from infra.local.stack import Stack
from tests.helpers import bearer, consultation, eventually

JOURNEY = ("intake", "referral", "notifications")


async def test_one_trace_runs_through_all_three_services(stack: Stack,
                                                         http: httpx.AsyncClient) -> None:
    trace_id = secrets.token_hex(16)
    agency = f"traced-{uuid.uuid4().hex[:8]}"
    posted = await http.post(stack.url("intake") + "/consultations", json=consultation(agency),
                             headers={**bearer(stack.token("w-kaigo")),
                                      "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    assert posted.status_code == 201

    async def spans() -> dict[str, set[str]] | None:
        found: dict[str, set[str]] = {}
        for name in JOURNEY:
            path = stack.trace_file(name)
            for line in path.read_text().splitlines() if path.exists() else []:
                span = json.loads(line)
                if span["context"]["trace_id"] == f"0x{trace_id}":
                    found.setdefault(name, set()).add(span["kind"])
        # Spans reach the files in batches, in no fixed order: wait for the whole journey.
        whole = (found.keys() == set(JOURNEY)
                 and {"SpanKind.SERVER", "SpanKind.PRODUCER"} <= found["intake"]
                 and {"SpanKind.CONSUMER", "SpanKind.PRODUCER"} <= found["referral"]
                 and "SpanKind.CONSUMER" in found["notifications"])
        return found if whole else None

    await eventually(spans, what="spans of the journey in every service (server, producer, consumer)")
