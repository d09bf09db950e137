"""Registering a division's system: what it may receive, and the ACLs that follow from it."""

from __future__ import annotations

import pytest

from contracts.events.meetings import CaseTabled
from contracts.registry import BY_MODEL, SPECS
from infra.local.divisions import validate
from infra.local.kafka_admin import GROUP, READ, TOPIC

INTAKE = [s.name for s in SPECS if s.topic == "intake.events"]
MEETINGS = [s.name for s in SPECS if s.topic == "meetings.events"]


def test_a_division_gets_read_on_its_topics_and_its_own_group_only() -> None:
    division = validate("kaigo", INTAKE, member_body=False)
    assert division.principal == "division-kaigo"
    assert division.topics == ["intake.events"]
    assert {(a.principal, a.resource_type, a.resource, a.operation) for a in division.acls()} == {
        ("User:division-kaigo", TOPIC, "intake.events", READ),
        ("User:division-kaigo", GROUP, "division-kaigo", READ)}


def test_a_part_of_a_topic_is_refused_since_the_broker_grants_whole_topics() -> None:
    with pytest.raises(ValueError, match=r"intake\.events also carries .*consent_granted"):
        validate("kaigo", ["ConsultationReceived"], member_body=False)


def test_support_meeting_material_only_for_a_member_body() -> None:
    with pytest.raises(ValueError, match=r"case_tabled\.v1 may be 支援会議 material"):
        validate("kaigo", MEETINGS, member_body=False)
    with pytest.raises(ValueError, match=r"meetings\.events also carries"):  # not even the rest
        validate("kaigo", ["MeetingScheduled", "MemberJoined"], member_body=False)
    member = validate("houkatsu", MEETINGS, member_body=True)
    assert BY_MODEL[CaseTabled].ce_type in member.types


@pytest.mark.parametrize("name, types", [("Kaigo!", INTAKE), ("kaigo", ["NoSuchEvent"]),
                                         ("kaigo", [])])
def test_bad_registrations_are_refused(name: str, types: list[str]) -> None:
    with pytest.raises(ValueError):
        validate(name, types, member_body=False)
