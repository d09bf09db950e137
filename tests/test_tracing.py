"""One consultation is one trace across intake, referral and notifications, and no span holds
the personal data the requests carried."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from infra.local.stack import Stack
from tests.helpers import bearer, consultation, eventually

JOURNEY = ("intake", "referral", "notifications")
# What each service's part of a consultation's trace must hold once every span is exported.
EXPECTED = {"intake": {"SpanKind.SERVER", "SpanKind.PRODUCER"},
            "referral": {"SpanKind.CONSUMER", "SpanKind.PRODUCER"},
            "notifications": {"SpanKind.CONSUMER"}}


def _traceparent(trace_id: str) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


def _kinds(stack: Stack, trace_id: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name in JOURNEY:
        path = stack.trace_file(name)
        for line in path.read_text().splitlines() if path.exists() else []:
            span = json.loads(line)
            if span["context"]["trace_id"] == f"0x{trace_id}":
                found.setdefault(name, set()).add(span["kind"])
    return found


async def _whole_trace(stack: Stack, trace_id: str) -> dict[str, set[str]]:
    """Wait for every span the assertions look at, not just the last service's."""
    async def complete() -> dict[str, set[str]] | None:
        found = _kinds(stack, trace_id)
        return found if all(kinds <= found.get(name, set()) for name, kinds in EXPECTED.items()) \
            else None
    return await eventually(complete, what="spans of the journey in every service")


async def test_one_trace_runs_through_all_three_services(stack: Stack,
                                                         http: httpx.AsyncClient) -> None:
    trace_id = secrets.token_hex(16)
    posted = await http.post(stack.url("intake") + "/consultations", json=consultation("konkyu"),
                             headers={**bearer(stack.token("w-kaigo")), **_traceparent(trace_id)})
    assert posted.status_code == 201
    found = await _whole_trace(stack, trace_id)
    assert set(found) == set(JOURNEY)
    for name, kinds in EXPECTED.items():
        assert kinds <= found[name], (name, found[name])


async def test_no_personal_data_in_any_span(stack: Stack, http: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:6]
    person: dict[str, Any] = {"family_name": f"秘密{tag}", "given_name": "花子",
                              "family_kana": f"ヒミツ{tag.upper()}", "given_kana": "ハナコ",
                              "birth_date": "1961-07-23", "phone": "042-555-0917",
                              "address": f"東京都福生市熊川{tag}番地"}
    complaint = f"借金と通院のことで困っている{tag}"
    window = bearer(stack.token("w-kaigo"))
    intake = stack.url("intake")
    registered = await http.post(intake + "/persons", json=person, headers=window)
    assert registered.status_code == 201, registered.text
    person_id = registered.json()["id"]
    search_trace = secrets.token_hex(16)
    found = await http.get(intake + "/persons/candidates", params={
        k: person[k] for k in ("family_name", "given_name", "family_kana", "given_kana",
                               "birth_date", "phone", "address")},
        headers={**window, **_traceparent(search_trace)})
    assert found.status_code == 200 and found.json()[0]["person_id"] == person_id, found.text
    assert (await http.get(intake + f"/persons/{person_id}", headers=window)).status_code == 200
    journey_trace = secrets.token_hex(16)
    posted = await http.post(intake + "/consultations", headers={**window,
                             **_traceparent(journey_trace)},
                             json=consultation("", main_complaint=complaint, person_ids=[person_id],
                                               destination={"kind": "general_desk"}))
    assert posted.status_code == 201, posted.text
    await _whole_trace(stack, journey_trace)  # the referral and the notification came through

    async def search_exported() -> bool:
        return "SpanKind.SERVER" in _kinds(stack, search_trace).get("intake", set())
    await eventually(search_exported, what="the search's span exported")

    values = [*(str(v) for v in person.values()), complaint, person_id, person_id.replace("-", "")]
    # As sent, percent-encoded either way, and as JSON escapes them (the span files' spelling).
    spellings = {s for v in values for s in (v, quote(v), quote_plus(v), json.dumps(v)[1:-1])}
    files = sorted(stack.trace_file("intake").parent.glob("*.jsonl"))
    assert {f.stem for f in files} >= set(JOURNEY)
    for path in files:
        text = path.read_text()
        leaked = sorted(s for s in spellings if s in text)
        assert not leaked, f"{path.name} holds {leaked}"
