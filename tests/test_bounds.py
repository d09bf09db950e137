"""Inputs past their bounds are refused at the edge, as problem+json naming what was wrong:
a body too large (413), a field too long, a NUL anywhere, an instant that has no UTC (422)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from infra.local.stack import Stack
from tests.helpers import bearer, consultation

OVERFLOWING = ("0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59-09:00")


def _problem(r: httpx.Response, status: int, *names: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    for name in names:
        assert name in body["detail"], (name, body)
    return body


async def test_a_body_past_one_mebibyte_is_413(stack: Stack, http: httpx.AsyncClient) -> None:
    window = bearer(stack.token("w-kaigo"))
    url = stack.url("intake") + "/consultations"
    big = consultation("x", main_complaint="あ" * 400_000)  # 1.2 MB in UTF-8
    _problem(await http.post(url, json=big, headers=window), 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"channel": "visit", "main_complaint": "'
        for _ in range(64):
            yield b"a" * 32_768
        yield b'"}'
    _problem(await http.post(url, content=chunks(), headers={
        **window, "content-type": "application/json"}), 413)


async def test_an_id_of_a_megabyte_is_refused_naming_the_field(stack: Stack,
                                                               http: httpx.AsyncClient) -> None:
    window = bearer(stack.token("w-kaigo"))
    person = (await http.post(stack.url("intake") + "/persons", headers=window, json={
        "family_name": "境界", "given_name": "太郎", "family_kana": "キョウカイ",
        "given_kana": "タロウ"})).json()
    r = await http.post(stack.url("intake") + f"/persons/{person['id']}/consents", headers=window,
                        json={"agencies": ["a" * 101], "method": "oral"})
    body = _problem(r, 422, "body.agencies.0")
    assert "a" * 101 not in r.text  # the input is not echoed
    assert body["errors"][0]["loc"] == ["body", "agencies", 0]
    too_many = {"agencies": [f"agency-{i}" for i in range(51)], "method": "oral"}
    _problem(await http.post(stack.url("intake") + f"/persons/{person['id']}/consents",
                             headers=window, json=too_many), 422, "body.agencies")


async def test_a_nul_anywhere_is_422_not_500(stack: Stack, http: httpx.AsyncClient) -> None:
    window, office = bearer(stack.token("w-kaigo")), bearer(stack.token("a-houkatsu"))
    intake = stack.url("intake")
    _problem(await http.post(intake + "/consultations", headers=window,
                             json=consultation("x", main_complaint="困って\u0000いる")),
             422, "body.main_complaint")
    _problem(await http.post(intake + "/consultations", headers=window,
                             json=consultation("houkatsu\u00001")), 422, "body.destination.agency")
    _problem(await http.get(intake + "/persons/candidates", headers=window,
                            params={"family_kana": "ヤマ\u0000ダ"}), 422, "family_kana")
    _problem(await http.get(stack.url("referral") + "/referrals", headers=office,
                            params={"agency": "houkatsu-1\u0000"}), 422, "agency")
    _problem(await http.get(stack.url("notifications") + "/inbox/houkatsu-1%00", headers=office),
             422, "office")
    posted = await http.post(intake + "/consultations", headers=window, json=consultation("konkyu"))
    _problem(await http.get(intake + f"/consultations/{posted.json()['id']}", headers={
        **window, "X-Break-Glass-Reason": "%00" * 20}), 422, "x-break-glass-reason")


async def test_an_instant_without_a_utc_is_422(stack: Stack, http: httpx.AsyncClient) -> None:
    window, auditor = bearer(stack.token("w-kaigo")), bearer(stack.token("auditor-1"))
    for instant in OVERFLOWING:
        _problem(await http.post(stack.url("intake") + "/consultations", headers=window,
                                 json=consultation("x", received_at=instant)),
                 422, "body.received_at")
        _problem(await http.get(stack.url("intake") + "/audit", headers=auditor,
                                params={"since": instant}), 422, "since")
        _problem(await http.post(stack.url("meetings") + "/meetings",
                                 headers=bearer(stack.token("c-desk")),
                                 json={"kind": "support_meeting", "title": "境界",
                                       "scheduled_for": instant}), 422, "body.scheduled_for")


async def test_what_the_lean_way_in_leaves_to_fastapi_is_refused_as_fastapi_refuses_it(
        stack: Stack, http: httpx.AsyncClient) -> None:
    """POST /consultations is served by kit/lean.py when its body is valid JSON of the model;
    every other request is FastAPI's to answer, in FastAPI's order (sign-in, then the body)."""
    window = bearer(stack.token("w-kaigo"))
    url = stack.url("intake") + "/consultations"
    as_json = {**window, "content-type": "application/json"}
    malformed = _problem(await http.post(url, content=b'{"channel": ', headers=as_json), 422)
    assert [(e["loc"], e["type"]) for e in malformed["errors"]] == [(["body", 12], "json_invalid")]
    empty = _problem(await http.post(url, content=b"", headers=as_json), 422)
    assert [(e["loc"], e["type"]) for e in empty["errors"]] == [(["body"], "missing")]
    as_text = _problem(await http.post(url, content=b'{"channel": "visit"}', headers={
        **window, "content-type": "text/plain"}), 422)
    assert [e["loc"] for e in as_text["errors"]] == [["body"]]
    nul = _problem(await http.post(url + "?note=%00", json=consultation("x"), headers=window),
                   422, "query parameter 'note'")
    assert nul["errors"][0]["loc"] == ["query", "note"]
    for body in (consultation("x"), {"channel": "visit"}):  # valid or not: no token, 401 first
        _problem(await http.post(url, json=body), 401)
    charset = await http.post(url, content=json.dumps(consultation("konkyu")).encode(), headers={
        **window, "content-type": "application/json; charset=utf-8"})
    assert charset.status_code == 201, charset.text
    assert charset.headers["location"] == f"/consultations/{charset.json()['id']}"
    lean = await http.post(url, json=consultation("konkyu"), headers=window)
    assert lean.status_code == 201 and len(lean.headers["x-trace-id"]) == 32, lean.text
