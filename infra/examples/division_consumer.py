"""How a division's own system reads its events: plain aiokafka, the AsyncAPI document and the
JSON Schemas, nothing of tsunagu's code.

    python infra/examples/division_consumer.py .run/kafka/divisions/<name>.json

The connection file is what the operator hands over after `make division` (bootstrap, the
division's principal and password, the broker's CA, its consumer group, topics and types).
Copy contracts/asyncapi.yaml and contracts/schemas/ beside your consumer; they are the contract.

Nothing is believed before it is checked; a message that fails a check is reported and skipped:
1. its CloudEvents type (`ce_type` header) is one the division registered;
2. the AsyncAPI document lists that message on the channel (topic) it came from;
3. its `ce_source` is the channel's owner: `<service>.events` comes from /tsunagu/<service>
   (access.events, where every service reports break-glass accesses, from any of them);
4. its value validates against the message's JSON Schema.
The offset is committed after a batch is handled: delivery is at least once, so handle each
event idempotently by its `ce_id`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context
from jsonschema import Draft202012Validator, FormatChecker

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


@dataclass(frozen=True)
class Event:
    topic: str
    key: str | None
    headers: dict[str, str]  # ce_id, ce_type, ce_source, ce_time, ce_subject, ce_sensitivity...
    data: dict[str, Any]


class Rejected(Exception):
    """The message is not what the contract says: do not act on it."""


class Contract:
    """Per channel, the CloudEvents types the AsyncAPI document lists, with their validators."""

    def __init__(self, asyncapi: Path = CONTRACTS / "asyncapi.yaml") -> None:
        doc = yaml.safe_load(asyncapi.read_text())
        messages = doc["components"]["messages"]
        self.channels: dict[str, dict[str, Draft202012Validator]] = {}
        for channel in doc["channels"].values():
            types = self.channels.setdefault(channel["address"], {})
            for ref in channel["messages"].values():
                message = messages[ref["$ref"].rsplit("/", 1)[1]]
                schema = json.loads((asyncapi.parent / message["payload"]["$ref"]).read_text())
                types[message["name"]] = Draft202012Validator(schema, format_checker=FormatChecker())

    def check(self, record: Any, registered: set[str]) -> Event:
        headers = {k: bytes(v).decode("utf-8", "replace") for k, v in record.headers or ()}
        ce_type, source = headers.get("ce_type", ""), headers.get("ce_source", "")
        if ce_type not in registered:
            raise Rejected(f"type {ce_type!r} is not one this division registered")
        validator = self.channels.get(record.topic, {}).get(ce_type)
        if validator is None:
            raise Rejected(f"{ce_type} is not a message of channel {record.topic}")
        owner = record.topic.removesuffix(".events")
        if record.topic != "access.events" and source != f"/tsunagu/{owner}":
            raise Rejected(f"source {source!r} is not the owner of {record.topic}")
        try:
            data = json.loads(record.value or b"")
        except ValueError as exc:
            raise Rejected(f"value is not JSON: {exc}") from None
        problems = sorted(e.message for e in validator.iter_errors(data))
        if problems:
            raise Rejected(f"{ce_type} does not match its schema: {'; '.join(problems[:3])}")
        return Event(record.topic, record.key.decode() if record.key else None, headers, data)


def consumer(connection: dict[str, Any]) -> AIOKafkaConsumer:
    """SASL/SCRAM-SHA-512 over TLS, the broker's certificate checked against its CA."""
    return AIOKafkaConsumer(
        *connection["topics"], bootstrap_servers=connection["bootstrap"],
        security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=connection["username"], sasl_plain_password=connection["password"],
        ssl_context=create_ssl_context(cafile=connection["ca_file"]),
        group_id=connection["group_id"], enable_auto_commit=False, auto_offset_reset="earliest")


async def consume(connection: dict[str, Any], handle: Callable[[Event], Awaitable[bool]],
                  contract: Contract | None = None,
                  rejected: Callable[[Any, Rejected], None] | None = None) -> None:
    """Read until `handle` returns True (an example's stop; a real system runs on)."""
    contract = contract or Contract()
    registered = set(connection["types"])
    kafka = consumer(connection)
    await kafka.start()
    try:
        while True:
            done = False
            for records in (await kafka.getmany(timeout_ms=1000)).values():
                for record in records:
                    try:
                        event = contract.check(record, registered)
                    except Rejected as exc:
                        (rejected or _report)(record, exc)
                        continue
                    done = await handle(event) or done
            await kafka.commit()
            if done:
                return
    finally:
        await kafka.stop()


def _report(record: Any, exc: Rejected) -> None:
    print(f"skipped {record.topic}[{record.partition}]@{record.offset}: {exc}", file=sys.stderr)


async def _print(event: Event) -> bool:
    print(json.dumps({"topic": event.topic, "type": event.headers["ce_type"],
                      "id": event.headers["ce_id"], "data": event.data}, ensure_ascii=False))
    return False


if __name__ == "__main__":
    asyncio.run(consume(json.loads(Path(sys.argv[1]).read_text()), _print))
