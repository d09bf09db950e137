"""What an operator relies on: documentation that opens without the internet, a trace id on
every response for staff to quote, and alert rules on what the services really expose."""

from __future__ import annotations

import re
import secrets

import httpx
import yaml

from infra.local.catalog import ROOT, SERVICES, STREAM_SERVICES
from infra.local.stack import Stack
from tests.helpers import bearer, consultation

ALERTS = ROOT / "infra" / "monitoring" / "alerts.yml"
_REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


async def test_api_documentation_loads_everything_from_the_service_itself(
        stack: Stack, http: httpx.AsyncClient) -> None:
    for name in SERVICES.keys() - STREAM_SERVICES:  # statistics: tests/test_statistics.py
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
    intake = stack.url("intake")
    created = await http.post(intake + "/consultations", json=consultation("konkyu"),
                              headers=bearer(stack.token("w-kaigo")))
    assert created.status_code == 201, created.text
    assert re.fullmatch(r"[0-9a-f]{32}", created.headers["X-Trace-Id"])  # the trace it started
    again = await http.post(intake + "/consultations", json=consultation("konkyu"),
                            headers=bearer(stack.token("w-kaigo")))
    assert again.headers["X-Trace-Id"] != created.headers["X-Trace-Id"]  # one per request

    # Errors too, as problem+json: the ones staff are likeliest to report.
    for answer in (await http.get(intake + "/consultations/" + secrets.token_hex(4)),  # 401
                   await http.post(intake + "/consultations", json={"nonsense": 1},
                                   headers=bearer(stack.token("w-kaigo"))),  # 422
                   await http.get(stack.url("referral") + "/no-such-route")):  # 404
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Trace-Id"]), answer.status_code


async def test_alert_rules_name_only_what_the_services_expose(stack: Stack,
                                                              http: httpx.AsyncClient) -> None:
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    exposed = {"up"}  # Prometheus's own, per scrape target
    for name in SERVICES.keys() - STREAM_SERVICES:  # statistics: tests/test_statistics.py
        scraped = await http.get(stack.url(name) + "/metrics")
        exposed |= {line.split()[2] for line in scraped.text.splitlines()
                    if line.startswith("# TYPE ")}
    for rule in rules:
        assert rule["alert"] and rule["annotations"]["runbook"], rule
        named = set(re.findall(r"\b([a-z_]+)\b\s*(?:[<>=!]=?|\)|\{)", rule["expr"]))
        named -= {"by", "max", "instance", "consumer", "topic"}
        assert named and named <= exposed, (rule["alert"], named - exposed)
    assert {"outbox_oldest_age_seconds", "consumer_lag", "dead_letters_stored",
            "outbox_parked_stored", "database_reachable", "pool_starved_seconds"} <= {
        m for rule in rules for m in exposed if m in rule["expr"]}
