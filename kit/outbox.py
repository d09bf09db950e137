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
# (id, municipality, topic, key, type, payload, headers); payload and headers as JSON text,
# written once where the row is made (dumping to a dict and encoding that again cost a POST
# ~2.5 % of its instructions, #14)
Row = tuple[Any, ...]

def insert(first: int = 1, only_if: str = "true") -> str:
    """The rows in the order given (seq keeps an aggregate's events in order), their seven
    columns as array parameters $first..$first+6; written only if `only_if` holds (SQL over the
    statement's other CTEs: events of a write that may find it already done). A unit of work
    folds this into its commit's one statement (kit/uow.py); a store, into its write's."""
    p = [f"${first + i}" for i in range(7)]
    return f"""
INSERT INTO outbox (id, municipality, topic, key, type, payload, headers)
SELECT id, municipality, topic, key, type, payload::jsonb, headers::jsonb
FROM unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::text[], {p[3]}::text[], {p[4]}::text[],
            {p[5]}::text[], {p[6]}::text[])
     WITH ORDINALITY AS r(id, municipality, topic, key, type, payload, headers, n)
WHERE {only_if}
ORDER BY n
RETURNING seq
"""


# The relay woken at commit, in the statement that wrote the rows (`inserted`: its CTE of
# `insert`), if it wrote any. The NOTIFY names the highest seq written: a relay whose batch has
# already taken that row (and so every row of this statement) need not wake for it
# (kit/relay.py).
NOTIFY = ("SELECT pg_notify({channel}, top::text) "
          "FROM (SELECT max(seq) AS top FROM {inserted}) written WHERE top IS NOT NULL")
_INSERT = f"WITH inserted AS ({insert()}) " + NOTIFY.format(channel="$8", inserted="inserted")


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
        headers = json.dumps({k: v.decode() for k, v in env.headers()}, ensure_ascii=False)
        rows.append((env.id, municipality, spec.topic, env.subject, env.type,
                     event.model_dump_json(), headers))
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
    """`insert`'s seven parameters: the rows as columns."""
    return [list(c) for c in zip(*rows, strict=True)] or [[] for _ in range(7)]
