"""Inputs at and past every bound, on every route of every service: the edge answers them as
problem+json (a refusal or a result), never as a 500. The bodies are made from each service's own
OpenAPI document, so a route added tomorrow is attacked too: every string, list and number one
past its bound (refused, 422 or 413), then exactly at it (whatever the route decides, but
decided)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.local.catalog import SERVICES, STREAM_SERVICES
from infra.local.stack import Stack
from tests.helpers import bearer, enlist, offices_of

PAST, AT = 1, 0
_UNBOUNDED = 20_000  # a string with no stated bound: long, but under the body limit


class _Maker:
    """A JSON value for a schema, at its bounds (`by` = AT) or one past each (`by` = PAST)."""

    def __init__(self, document: dict[str, Any], by: int) -> None:
        self.schemas = document.get("components", {}).get("schemas", {})
        self.by = by
        self.bent = False  # some value of the last one made is past its bound

    def make(self, s: dict[str, Any]) -> Any:
        self.bent = False
        return self.value(s)

    def value(self, s: dict[str, Any], depth: int = 0) -> Any:
        if "$ref" in s:
            return self.value(self.schemas[s["$ref"].rsplit("/", 1)[1]], depth)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in s:
                options = [o for o in s[key] if o.get("type") != "null"]
                return self.value(options[0], depth) if options else None
        if "enum" in s:
            return s["enum"][0]
        if "const" in s:
            return s["const"]
        kind = s.get("type")
        if kind == "object" or "properties" in s:
            props = s.get("properties", {})
            if depth > 6:
                return {}
            if not props and isinstance(s.get("additionalProperties"), dict):
                return {"k": self.value(s["additionalProperties"], depth + 1)}
            return {name: self.value(p, depth + 1) for name, p in props.items()}
        if kind == "array":
            self.bent |= bool(self.by)
            n = s.get("maxItems", 3) + self.by
            return [self.value(s.get("items", {}), depth + 1) for _ in range(min(n, 2000))]
        if kind == "integer" or kind == "number":
            self.bent |= bool(self.by)
            if "maximum" not in s and "exclusiveMaximum" not in s:  # as far as PostgreSQL goes
                return 2**63 if self.by else 1
            return s.get("maximum", s.get("exclusiveMaximum", 0) - 1) + self.by
        if kind == "boolean":
            return True
        return self.text(s)

    def text(self, s: dict[str, Any]) -> str:
        self.bent |= bool(self.by)
        fmt = s.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4()) + ("x" * self.by)
        if fmt == "date":
            return "2026-12-01" if self.by == AT else "2026-13-01"
        if fmt == "date-time":
            return datetime.now(UTC).isoformat() if self.by == AT else "10000-01-01T00:00:00+00:00"
        n = int(s.get("maxLength", _UNBOUNDED if self.by else 100))
        return "あ" * (n + self.by) if "pattern" not in s else "a" * (n + self.by)


def _path(template: str, params: list[dict[str, Any]]) -> str:
    for p in params:
        if p.get("in") == "path":
            kind = p.get("schema", {}).get("type")
            value = "999999999" if kind == "integer" else str(uuid.uuid4()) \
                if p.get("schema", {}).get("format") == "uuid" else "x" * 300
            template = template.replace("{" + p["name"] + "}", value)
    return template


def _past_queries(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One query per bounded query parameter, one past its bound."""
    past = []
    for p in params:
        s = p.get("schema", {})
        s = next((o for o in s.get("anyOf", [s]) if o.get("type") != "null"), s)
        if p.get("in") != "query":
            continue
        if "maximum" in s:
            past.append({p["name"]: s["maximum"] + 1})
        elif "maxLength" in s:
            past.append({p["name"]: "a" * (s["maxLength"] + 1)})
    return past


@pytest.fixture(scope="module")
async def documents(stack: Stack) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        return {name: (await http.get(stack.url(name) + "/openapi.json")).json()
                for name in SERVICES if name not in STREAM_SERVICES}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in document["paths"].items()
            for method, op in ops.items()]


def _decided(r: httpx.Response, where: str) -> None:
    assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:500]}"
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", where


@pytest.mark.parametrize("user", ["c-desk", "ops-1"])
async def test_past_every_bound_is_refused_and_at_it_decided(
        user: str, stack: Stack, documents: dict[str, dict[str, Any]], http: httpx.AsyncClient) -> None:
    # A user of the test's own where the seeded one works: what it sets (a digest) is its own.
    me = f"redteam-{user}-{uuid.uuid4().hex[:6]}"
    enlist(stack, {me: offices_of(stack, user)})
    headers = bearer(stack.token(user, sub=me))
    refused_past: list[str] = []
    bodies = 0
    for service, document in documents.items():
        past, at = _Maker(document, PAST), _Maker(document, AT)
        for method, template, op in _operations(document):
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            url = stack.url(service) + _path(template, op.get("parameters", []))
            where = f"{service} {method} {template}"
            for query in _past_queries(op.get("parameters", [])):
                r = await http.request(method, url, params=query, headers=headers)
                _decided(r, f"{where} ?{list(query)}")
                if r.status_code != 422:
                    refused_past.append(f"{where} ?{list(query)}: {r.status_code}")
            if schema is None:
                continue
            bodies += 1
            r = await http.request(method, url, json=past.make(schema), headers=headers)
            _decided(r, f"{where} past")
            if past.bent and r.status_code not in (413, 422):
                refused_past.append(f"{where} body: {r.status_code}")
            _decided(await http.request(method, url, json=at.make(schema), headers=headers),
                     f"{where} at")
    assert not refused_past, refused_past
    assert bodies >= 40, bodies  # every service's documents were read, their bodies all tried
