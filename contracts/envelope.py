"""CloudEvents attributes of one event, carried as Kafka headers (binary content mode).

The Kafka value is exactly the event's JSON; `ce_*` headers carry the attributes; W3C
`traceparent`/`tracestate` travel as their own headers (the CloudEvents tracing extension
says not to replace the protocol's own). Two extension attributes: `sensitivity` tells a
consumer how to treat the data, `municipality` (全国地方公共団体コード) names the city.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Sensitivity = Literal["general", "personal", "confidential-106-6"]
SENSITIVITIES: tuple[str, ...] = get_args(Sensitivity)

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_ATTRS = ("id", "type", "source", "time", "subject", "dataschema", "sensitivity", "municipality")
# Header name -> field, for the headers an envelope is read from (others are not even decoded),
# and every field at None: what a missing header is validated as.
_FIELDS = {f"ce_{n}": n for n in _ATTRS} | {"traceparent": "traceparent", "tracestate": "tracestate"}
_MISSING: dict[str, str | None] = dict.fromkeys(_FIELDS.values())


class EventData(BaseModel):
    """Base of every event payload: immutable, and tolerant of fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def sensitivity_label(self) -> Sensitivity | None:
        """Override when one instance is more sensitive than its type's registered label."""
        return None


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    type: str  # versioned, e.g. jp.tsunagu.intake.consultation_received.v1
    source: str  # producing service, e.g. /tsunagu/intake
    time: AwareDatetime
    subject: str  # the aggregate id (case, person, household); also the Kafka key
    dataschema: str
    sensitivity: Sensitivity
    municipality: str = Field(pattern=r"^\d{6}$")
    traceparent: str | None = None
    tracestate: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers: a mutable list of (str, bytes), as the OTel instrumentation expects."""
        out: list[tuple[str, bytes]] = [("content-type", CONTENT_TYPE.encode()),
                                        ("ce_specversion", SPEC_VERSION.encode())]
        for name in _ATTRS:
            value = getattr(self, name)
            text = value.isoformat() if isinstance(value, datetime) else str(value)
            out.append((f"ce_{name}", text.encode()))
        for name in ("traceparent", "tracestate"):
            if getattr(self, name):
                out.append((name, str(getattr(self, name)).encode()))
        return out

    @classmethod
    def from_headers(cls, headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> Envelope:
        """Parse the attributes back; raises ValueError (pydantic) when one is missing or bad.

        Every event an inbox reads comes through here (a replay: thousands a second), hence one
        pass over the headers into a copy of `_MISSING` and the model's validator called
        directly: the same dict `model_validate` was given before, so the same checks and errors
        (a header given twice: the last one counts)."""
        attrs = _MISSING.copy()
        for key, value in headers:
            if key in _FIELDS:
                attrs[_FIELDS[key]] = value.decode("utf-8", "replace")
        envelope: Envelope = cls.__pydantic_validator__.validate_python(attrs)
        return envelope
