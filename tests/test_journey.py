"""The first journey: a consultation at a window reaches the receiving agency's inbox."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from contracts.events.intake import ConsultationReceived
from contracts.events.referral import ReferralRequested
from contracts.registry import spec_for
from infra.local.catalog import SERVICES, STREAM_SERVICES
from infra.local.stack import Stack
from kit.service import consumed
from services.intake.app import DEFINITION as INTAKE
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.referral.app import DEFINITION as REFERRAL
from tests.helpers import bearer, consultation, delivered, eventually


def test_a_consultations_events_wake_only_the_consumers_that_need_their_streams() -> None:
    # A consumer woken for records it only skips pays a broker fetch for them. intake and
    # referral do not read their own streams back (their views are written at once): a
    # consultation's events wake referral and notifications alone, and each stream's readers
    # still need it for something else (notifications: consents; intake: the directory).
    handled = {d.name: consumed(d) for d in (INTAKE, REFERRAL, NOTIFICATIONS)}
    woken = {e.__name__: {name for name, h in handled.items()
                          if spec_for(e).topic in {spec_for(t).topic for t in h}}
             for e in (ConsultationReceived, ReferralRequested)}
    assert woken == {"ConsultationReceived": {"referral", "notifications"},
                     "ReferralRequested": {"intake", "notifications"}}
    assert ConsultationReceived in handled["referral"]
    assert ReferralRequested in handled["notifications"]


async def test_consultation_reaches_the_agency_inbox(stack: Stack, http: httpx.AsyncClient) -> None:
    window = bearer(stack.token("w-kaigo"))
    office = bearer(stack.token("a-houkatsu"))  # the directory says they staff houkatsu-1
    posted = await http.post(stack.url("intake") + "/consultations",
                             json=consultation("houkatsu-1"), headers=window)
    assert posted.status_code == 201, posted.text
    consultation_id = posted.json()["id"]
    assert posted.headers["location"] == f"/consultations/{consultation_id}"

    async def arrived() -> Any:
        return await delivered(http, stack, "houkatsu-1", office, consultation_id)

    _, item = await eventually(arrived, what="inbox item")
    assert item["title"] == "新しいつなぎ依頼（緊急度: 高）"
    # The main complaint stays in intake: the inbox tells what kind, not who or what was said.
    assert "ひきこもり" not in item["body"]


async def test_promoter_and_desk_destinations_get_routing_tasks(stack: Stack,
                                                                http: httpx.AsyncClient) -> None:
    body = consultation("unused", destination={"kind": "promoter"})
    window = bearer(stack.token("w-kosodate"))
    promoter = bearer(stack.token("p-kosodate"))  # that division's section chief
    posted = await http.post(stack.url("intake") + "/consultations", json=body, headers=window)
    assert posted.status_code == 201, posted.text

    async def promoter_inbox() -> Any:
        return await delivered(http, stack, "promoter:div-kosodate", promoter, posted.json()["id"])

    _, item = await eventually(promoter_inbox, what="promoter's inbox item")
    assert "断らない相談窓口推進員" in item["body"]
    other_promoter = bearer(stack.token("p-kaigo"))  # another division's promoter: not this desk
    assert (await http.get(stack.url("notifications") + "/inbox/promoter:div-kosodate",
                           headers=other_promoter)).status_code == 403


async def test_consultation_without_destination_is_refused(stack: Stack,
                                                            http: httpx.AsyncClient) -> None:
    body = consultation("x")
    del body["destination"]
    refused = await http.post(stack.url("intake") + "/consultations", json=body,
                              headers=bearer(stack.token("w-kaigo")))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:tsunagu:problem:no-destination"


async def test_bad_input_gets_problem_json(stack: Stack, http: httpx.AsyncClient) -> None:
    window = bearer(stack.token("w-kaigo"))
    bad = await http.post(stack.url("intake") + "/consultations", json={"channel": "telepathy"},
                          headers=window)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert {e["loc"][-1] for e in bad.json()["errors"]} >= {"channel", "main_complaint"}
    missing = await http.get(stack.url("intake") + f"/consultations/{uuid.uuid4()}", headers=window)
    assert missing.status_code == 404
    assert missing.json()["title"] == "Consultation not found"


async def test_every_service_serves_openapi_health_and_metrics(stack: Stack,
                                                                http: httpx.AsyncClient) -> None:
    for name in SERVICES.keys() - STREAM_SERVICES:  # statistics: tests/test_statistics.py
        base = stack.url(name)
        spec = (await http.get(base + "/openapi.json")).json()
        assert spec["info"]["title"].startswith(f"tsunagu {name}")
        assert (await http.get(base + "/healthz")).json() == {"status": "ok"}
        ready = (await http.get(base + "/readyz")).json()
        assert ready["database"] == "ok" and ready["service"] == name

        async def connected(base: str = base) -> bool:
            return bool((await http.get(base + "/readyz")).json()["broker"] == "connected")

        await eventually(connected, what=f"{name}'s relay connected to the broker")
        metrics = (await http.get(base + "/metrics")).text
        for metric in ("outbox_backlog", "outbox_oldest_age_seconds", "dead_letters_stored",
                       "http_request_duration_seconds"):
            assert metric in metrics, (name, metric)
