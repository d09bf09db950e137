"""Which subscriber hears which event, and what it receives. Pure."""

from __future__ import annotations

import json
import uuid

from contracts.envelope import SPEC_VERSION, Envelope, EventData
from contracts.registry import SPECS

from ..domain import CONFIDENTIAL

_MODELS = {s.name: s for s in SPECS}


def may_be_confidential(event_type: str) -> bool:
    """A type some of whose events are 支援会議 material (labelled confidential-106-6)."""
    spec = _MODELS[event_type]
    return spec.sensitivity == CONFIDENTIAL or \
        spec.model.sensitivity_label is not EventData.sensitivity_label


def refused_types(types: list[str], offered: set[str], support_meeting_member: bool) -> list[str]:
    """Of the types asked for, those a subscriber may not have: not offered by this service, or
    possibly 支援会議 material for a body not declared a member of the 支援会議."""
    return [t for t in types if t not in offered
            or (may_be_confidential(t) and not support_meeting_member)]


def hears(envelope: Envelope, support_meeting_member: bool) -> bool:
    return envelope.sensitivity != CONFIDENTIAL or support_meeting_member


def delivery_id(event_id: uuid.UUID, subscriber_id: uuid.UUID) -> uuid.UUID:
    """One delivery per subscriber per event, the same however often the event arrives."""
    return uuid.uuid5(event_id, f"webhook:{subscriber_id}")


def cloudevent(envelope: Envelope, event: EventData) -> bytes:
    """The event in CloudEvents structured mode (JSON): the contracts' attributes and data."""
    attrs = envelope.model_dump(mode="json", exclude_none=True, exclude={"traceparent", "tracestate"})
    return json.dumps({"specversion": SPEC_VERSION, **attrs, "datacontenttype": "application/json",
                       "data": event.model_dump(mode="json")}, ensure_ascii=False,
                      separators=(",", ":")).encode()
