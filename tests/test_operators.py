"""What an operator relies on: documentation that opens without the internet, and a trace id on
every response for staff to quote."""

from __future__ import annotations

import re
import secrets

import httpx

from infra.local.catalog import SERVICES
from infra.local.stack import Stack
from tests.helpers import bearer, consultation

_REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


async def test_api_documentation_loads_everything_from_the_service_itself(
        stack: Stack, http: httpx.AsyncClient) -> None:
    for name in SERVICES:
        base = stack.url(name)
        for page in ("/docs", "/redoc"):
            answer = await http.get(base + page)
            assert answer.status_code == 200, (name, page)
            assert "http://" not in answer.text and "https://" not in answer.text, (name, page)
            references = _REFERENCE.findall(answer.text)
            assert references, (name, page)
            for ref in references:
                assert ref.startswith("/"), (name, page, ref)  # the service's own, never a CDN
                asset = await http.get(base + ref)
                assert asset.status_code == 200, (name, ref)
                assert asset.content, (name, ref)


async def test_every_response_carries_its_trace_id(stack: Stack, http: httpx.AsyncClient) -> None:
    trace_id = secrets.token_hex(16)
    traced = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    intake = stack.url("intake")
    created = await http.post(intake + "/consultations", json=consultation("konkyu"),
                              headers={**bearer(stack.token("w-kaigo")), **traced})
    assert created.status_code == 201, created.text
    assert created.headers["X-Trace-Id"] == trace_id  # the trace the caller's span belongs to

    # Errors too, as problem+json: the ones staff are likeliest to report.
    for answer in (await http.get(intake + "/consultations/" + secrets.token_hex(4)),  # 401
                   await http.post(intake + "/consultations", json={"nonsense": 1},
                                   headers=bearer(stack.token("w-kaigo"))),  # 422
                   await http.get(stack.url("referral") + "/no-such-route")):  # 404
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Trace-Id"]), answer.status_code
