"""One consultation is one trace across intake, referral and notifications."""

from __future__ import annotations

import json
import secrets

import httpx

from infra.local.stack import Stack
from tests.helpers import bearer, consultation, eventually

JOURNEY = ("intake", "referral", "notifications")


async def test_one_trace_runs_through_all_three_services(stack: Stack,
                                                         http: httpx.AsyncClient) -> None:
    trace_id = secrets.token_hex(16)
    posted = await http.post(stack.url("intake") + "/consultations", json=consultation("konkyu"),
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
        return found if found.keys() == set(JOURNEY) and "SpanKind.CONSUMER" in found[
            "notifications"] else None

    found = await eventually(spans, what="spans of the journey in every service")
    assert "SpanKind.SERVER" in found["intake"] and "SpanKind.PRODUCER" in found["intake"]
    assert {"SpanKind.CONSUMER", "SpanKind.PRODUCER"} <= found["referral"]
    assert "SpanKind.CONSUMER" in found["notifications"]
