"""The contract between services: snapshots, compatibility, envelope, registry, AsyncAPI."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.compat import breaking_changes
from contracts.envelope import Envelope
from contracts.events.intake import ConsultationReceived
from contracts.generate import ASYNCAPI, SCHEMAS, render, render_asyncapi, schema_of
from contracts.registry import SPECS, spec_for

TOPICS = json.loads((SCHEMAS.parent.parent / "infra" / "kafka" / "topics.json").read_text())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.ce_type)
def test_committed_schema_snapshot_matches_the_model(spec) -> None:  # type: ignore[no-untyped-def]
    path = SCHEMAS / f"{spec.ce_type}.json"
    assert path.exists(), f"run `make schemas` to add {path.name}"
    assert path.read_text() == render(schema_of(spec)), f"run `make schemas`: {path.name} is stale"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.ce_type)
def test_model_is_full_transitive_compatible_with_every_earlier_snapshot(spec) -> None:  # type: ignore[no-untyped-def]
    history = sorted((SCHEMAS / "history" / spec.ce_type).glob("*.json"))
    for old in [*history, SCHEMAS / f"{spec.ce_type}.json"]:
        assert breaking_changes(json.loads(old.read_text()), schema_of(spec)) == [], old.name


def test_every_snapshot_belongs_to_a_registered_type() -> None:
    registered = {s.ce_type for s in SPECS}
    assert {p.stem for p in SCHEMAS.glob("*.json")} == registered


def test_compatibility_rules() -> None:
    old: dict[str, Any] = {"properties": {"a": {"type": "string"},
                                          "b": {"type": "integer", "default": 0}},
                           "required": ["a"]}
    optional_added = {**old, "properties": {**old["properties"], "c": {"type": "string", "default": ""}}}
    assert breaking_changes(old, optional_added) == []
    optional_removed = {"properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert breaking_changes(old, optional_removed) == []
    required_added = {**optional_added, "required": ["a", "c"]}
    assert breaking_changes(old, required_added) == ["new required field 'c'"]
    b_required = {**old, "required": ["a", "b"]}
    assert breaking_changes(old, b_required) == ["'b' became required"]
    required_removed = {"properties": {"b": {"type": "integer"}}, "required": []}
    assert breaking_changes(old, required_removed) == ["required field 'a' was removed"]
    retyped = {**old, "properties": {**old["properties"], "a": {"type": "integer"}}}
    assert breaking_changes(old, retyped) == ["field 'a' changed its schema"]


def test_a_tighter_bound_is_compatible_a_looser_one_is_not() -> None:
    old: dict[str, Any] = {"properties": {"a": {"type": "string", "maxLength": 100},
                                          "ids": {"type": "array", "items": {"type": "string"}},
                                          "n": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                           "required": ["a", "ids"]}
    tighter = {**old, "properties": {
        "a": {"type": "string", "maxLength": 50, "minLength": 1},
        "ids": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 50},
        "n": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]}}}
    assert breaking_changes(old, tighter) == []
    assert breaking_changes(tighter, old) == ["field 'a' changed its schema",
                                              "field 'ids' changed its schema",
                                              "field 'n' changed its schema"]
    retyped = {**old, "properties": {**old["properties"],
                                     "a": {"type": "integer", "maxLength": 100}}}
    assert breaking_changes(old, retyped) == ["field 'a' changed its schema"]


def test_asyncapi_document_is_up_to_date() -> None:
    assert ASYNCAPI.read_text() == render_asyncapi(), "run `make schemas`"


def test_every_topic_and_dead_letter_topic_is_declared() -> None:
    declared = {t["name"] for t in TOPICS["topics"]}
    assert {s.topic for s in SPECS} <= declared
    from infra.local.catalog import SERVICES, STREAM_SERVICES
    # A stream processor (statistics) publishes no events of its own.
    assert {f"{s}.events" for s in SERVICES.keys() - STREAM_SERVICES} <= declared


def test_envelope_round_trips_through_kafka_headers() -> None:
    spec = spec_for(ConsultationReceived)
    env = Envelope(id=uuid.uuid4(), type=spec.ce_type, source="/tsunagu/intake",
                   time=datetime(2026, 11, 30, 9, 0, tzinfo=UTC), subject="abc",
                   dataschema=spec.dataschema, sensitivity="personal", municipality="132187",
                   traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    headers = env.headers()
    names = [k for k, _ in headers]
    assert {"ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "ce_dataschema",
            "ce_sensitivity", "ce_municipality", "ce_specversion", "traceparent"} <= set(names)
    assert all(isinstance(v, bytes) for _, v in headers)
    assert Envelope.from_headers(headers) == env
    assert spec.ce_type == "jp.tsunagu.intake.consultation_received.v1"


def test_envelope_refuses_missing_or_bad_attributes() -> None:
    with pytest.raises(ValidationError):
        Envelope.from_headers([("ce_id", b"not-a-uuid")])
    spec = spec_for(ConsultationReceived)
    env = Envelope(id=uuid.uuid4(), type=spec.ce_type, source="/x", time=datetime.now(UTC),
                   subject="s", dataschema="d", sensitivity="general", municipality="132187")
    bad = [(k, b"13218" if k == "ce_municipality" else v) for k, v in env.headers()]
    with pytest.raises(ValidationError):
        Envelope.from_headers(bad)


def test_events_are_frozen_and_tolerant_of_unknown_fields() -> None:
    data = {"consultation_id": str(uuid.uuid4()), "received_at": "2026-11-30T09:00:00+09:00",
            "channel": "phone", "receiving_division": "障害福祉課", "categories": ["disability"],
            "urgency": "normal", "destination_kind": "general_desk", "added_in_v1_1": "ignored"}
    event = ConsultationReceived.model_validate(data)
    with pytest.raises(ValidationError):
        event.urgency = "high"
    with pytest.raises(ValidationError):  # naive datetimes are refused
        ConsultationReceived.model_validate({**data, "received_at": "2026-11-30T09:00:00"})


IDENTIFYING = ("name", "kana", "address", "phone", "birth", "complaint", "atena", "health",
               "notes", "sex")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.ce_type)
def test_events_carry_no_identity_or_case_content(spec) -> None:  # type: ignore[no-untyped-def]
    """Identity and what a person said stay in the owning service, read there under the access
    policy; events carry ids, routing facts and consent scopes only."""
    leaking = [f for f in spec.model.model_fields if any(word in f for word in IDENTIFYING)]
    assert leaking == [], f"{spec.name} carries {leaking}"


def test_support_meeting_agendas_are_labelled_confidential() -> None:
    from contracts.events.meetings import CaseTabled
    tabled = CaseTabled(meeting_id=uuid.uuid4(), kind="support_meeting", tabled_at=datetime.now(UTC))
    assert tabled.sensitivity_label() == "confidential-106-6"
    assert CaseTabled(meeting_id=uuid.uuid4(), kind="multilayer_meeting",
                      tabled_at=datetime.now(UTC)).sensitivity_label() is None
