"""Turn recorded domain events into outbox rows (CloudEvents envelope + trace context)."""

from __future__ import annotations

import json
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

# The rows in the order given (seq keeps an aggregate's events in order); a unit of work folds
# this into its commit's one statement (kit/uow.py). Parameters: the seven columns as arrays.
INSERT = """
INSERT INTO outbox (id, municipality, topic, key, type, payload, headers)
SELECT id, municipality, topic, key, type, payload::jsonb, headers::jsonb
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
     WITH ORDINALITY AS r(id, municipality, topic, key, type, payload, headers, n)
ORDER BY n
RETURNING seq
"""
# The relay woken at commit, in the same round trip. The NOTIFY names the highest seq written: a
# relay whose batch has already taken that row (and so every row of this statement) need not
# wake for it (kit/relay.py). `inserted` is the CTE of INSERT above.
NOTIFY = "SELECT pg_notify({channel}, (SELECT max(seq) FROM {inserted})::text)"
_INSERT = f"WITH inserted AS ({INSERT}) " + NOTIFY.format(channel="$8", inserted="inserted")


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
    # The NOTIFY is delivered at commit: it wakes the relay at once instead of at its next poll.
    await conn.execute(_INSERT, *columns(rows), NOTIFY_CHANNEL)


def columns(rows: list[Row]) -> list[list[Any]]:
    """INSERT's seven parameters: the rows as columns, payload and headers as JSON text."""
    cols = [list(c) for c in zip(*rows, strict=True)]
    for json_column in (5, 6):  # payload, headers
        cols[json_column] = [json.dumps(v, ensure_ascii=False) for v in cols[json_column]]
    return cols
