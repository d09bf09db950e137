"""The example division consumer believes only what the AsyncAPI document and schemas say."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest

from infra.examples.division_consumer import Contract, Rejected

TYPE = "jp.tsunagu.referral.referral_requested.v1"
GOOD = {"referral_id": str(uuid.uuid4()), "consultation_id": str(uuid.uuid4()),
        "requested_at": datetime.now(UTC).isoformat(), "destination_kind": "agency",
        "to_agency": "houkatsu-1", "categories": ["8050"], "urgency": "high"}


class Record(NamedTuple):
    topic: str
    value: bytes
    headers: list[tuple[str, bytes]]
    key: bytes | None = None
    partition: int = 0
    offset: int = 0


def record(topic: str = "referral.events", data: Any = GOOD, ce_type: str = TYPE,
           source: str = "/tsunagu/referral") -> Record:
    return Record(topic, json.dumps(data).encode(),
                  [("ce_type", ce_type.encode()), ("ce_source", source.encode())])


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


def test_a_registered_event_from_its_owner_matching_its_schema_is_read(contract: Contract) -> None:
    assert contract.check(record(), {TYPE}).data == GOOD


@pytest.mark.parametrize("bad, reason", [
    (record(ce_type="jp.tsunagu.intake.consent_granted.v1"), "not one this division registered"),
    (record(source="/tsunagu/intake"), "not the owner of referral.events"),
    (record(topic="intake.events"), "is not a message of channel intake.events"),
    (record(data={**GOOD, "urgency": "whenever"}), "does not match its schema"),
    (record(data={"referral_id": "not-a-uuid"}), "does not match its schema"),
])
def test_anything_else_is_rejected(contract: Contract, bad: Record, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        contract.check(bad, {TYPE})
