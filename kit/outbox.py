"""Turn recorded domain events into outbox rows (CloudEvents envelope + trace context)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from opentelemetry import propagate

from contracts.envelope import Envelope, EventData
from contracts.registry import source, spec_for
from kit.clock import now

NOTIFY_CHANNEL = "tsunagu_outbox"
Row = tuple[Any, ...]  # (id, municipality, topic, key, type, payload, headers)

_INSERT = """
INSERT INTO outbox (id, municipality, topic, key, type, payload, headers)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""


def envelope_for(event: EventData, service: str, municipality: str) -> Envelope:
    spec = spec_for(event)
    carrier: dict[str, str] = {}
    propagate.inject(carrier)  # the current span (the HTTP request or the consumer's process span)
    return Envelope(
        id=uuid.uuid4(), type=spec.ce_type, source=source(service), time=now(),
        subject=spec.key(event), dataschema=spec.dataschema,
        sensitivity=event.sensitivity_label() or spec.sensitivity,
        municipality=municipality, traceparent=carrier.get("traceparent"),
        tracestate=carrier.get("tracestate"))


def rows_for(events: Sequence[EventData], service: str, municipality: str) -> list[Row]:
    """Outbox rows, enveloped in the current trace context (take them inside the request)."""
    rows: list[Row] = []
    for event in events:
        spec = spec_for(event)
        env = envelope_for(event, service, municipality)
        headers = {k: v.decode() for k, v in env.headers()}
        rows.append((env.id, municipality, spec.topic, env.subject, env.type,
                     event.model_dump(mode="json"), headers))
    return rows


async def write(conn: asyncpg.Connection, events: Sequence[EventData], service: str,
                municipality: str) -> None:
    await write_rows(conn, rows_for(events, service, municipality))


async def write_rows(conn: asyncpg.Connection, rows: list[Row]) -> None:
    if not rows:
        return
    await conn.executemany(_INSERT, rows)
    # Delivered at commit: wakes the relay at once instead of at its next poll.
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
