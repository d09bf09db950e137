"""Where a consultation is routed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from contracts.events.intake import ConsultationReceived
from contracts.events.referral import (
    MAX_ENTRIES,
    EscalatedToPromoter,
    ReferralCompleted,
    ReferralDeclined,
    ReferralRequested,
)
from contracts.taxonomy import COORDINATORS, GENERAL_DESK
from kit.policy import Consent, Office
from services.referral import domain, handlers

AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _event(kind: str, agency: str | None = None) -> ConsultationReceived:
    return ConsultationReceived(consultation_id=uuid.uuid4(), received_at=AT, channel="visit",
                                receiving_division="障害福祉課", categories=("disability",),
                                urgency="high", destination_kind=kind,  # type: ignore[arg-type]
                                destination_agency=agency)


@pytest.mark.parametrize(("kind", "agency", "office"), [
    ("agency", "soudan-shien-1", "soudan-shien-1"),
    ("promoter", None, "promoter:障害福祉課"),
    ("general_desk", None, GENERAL_DESK),
    ("coordinator", None, COORDINATORS),
])
def test_each_destination_gets_a_routing_task(kind: str, agency: str | None, office: str) -> None:
    event = _event(kind, agency)
    referral = domain.open_routing_task(event, AT)
    assert referral is not None and referral.to_agency == office
    [requested] = referral.events
    assert isinstance(requested, ReferralRequested)
    assert requested.consultation_id == event.consultation_id and requested.urgency == "high"


def test_handled_at_the_window_needs_no_routing_task() -> None:
    assert domain.open_routing_task(_event("handled_here"), AT) is None


SEED = Path(domain.__file__).parents[1] / "directory.json"


def test_the_seeded_directory_places_the_plans_coordinators() -> None:
    directory = domain.DirectoryFile.model_validate_json(SEED.read_bytes())
    offices = {o.id: o for o in directory.offices}
    assert len({s for o in directory.offices if o.kind == "coordinators" for s in o.staff}) == 3
    assert set(offices[GENERAL_DESK].staff) == {"c-desk", "c-desk-2"}  # two at the city's desk
    assert offices["shakyo"].legal_body != offices[GENERAL_DESK].legal_body  # one at the 社協
    assert not offices["audit"].takes_handovers and not offices["minsei"].takes_handovers
    event = domain.directory_changed(directory, 1, AT)
    assert "label" not in event.model_dump_json()  # ids and routing facts only


@pytest.mark.parametrize(("change", "error"), [
    (lambda d: d["offices"].append({**d["offices"][0]}), "ids used twice"),
    (lambda d: d["offices"][0].update(legal_body="nowhere"), "unknown legal bodies"),
    (lambda d: d["legal_bodies"].append({**d["legal_bodies"][0], "id": d["offices"][0]["id"]}),
     "ids used twice"),
])
def test_an_inconsistent_directory_is_refused(change: Any, error: str) -> None:
    raw = json.loads(SEED.read_text())
    change(raw)
    with pytest.raises(ValidationError, match=error):
        domain.DirectoryFile.model_validate(raw)


def test_a_directory_of_the_most_offices_an_event_carries_names_its_one_id_used_twice() -> None:
    raw = json.loads(SEED.read_text())
    seeded = raw["offices"]
    more = [{**seeded[0], "id": f"office-{i}"} for i in range(MAX_ENTRIES - len(seeded))]
    raw["offices"] = [*seeded, *more[:-1], {**seeded[0], "id": "office-17"}]
    with pytest.raises(ValidationError, match=r"ids used twice: \['office-17'\]"):
        domain.DirectoryFile.model_validate(raw)
    raw["offices"] = [*seeded, *more]
    assert len(domain.DirectoryFile.model_validate(raw).offices) == MAX_ENTRIES


def test_the_directory_file_is_validated_again_only_when_its_bytes_change() -> None:
    handlers._digest.cache_clear()
    raw = SEED.read_bytes()
    digest = handlers._digest(raw)
    assert handlers._digest(bytes(raw)) == digest  # the same file read again: not validated
    assert handlers._digest.cache_info().hits == 1
    changed = json.loads(raw)
    changed["offices"][0]["label"] += "（分室）"
    again = json.dumps(changed, ensure_ascii=False).encode()
    assert handlers._digest(again) != digest
    directory, body, other = handlers._parsed(again)  # what is published when it changed
    assert other == handlers._digest(again)
    assert directory.offices[0].label.endswith("（分室）") and body["offices"][0]["label"] == \
        directory.offices[0].label


# -- referrals a holder makes, and their lifecycle (pure rules) --------------------------------
KONKYU = Office("konkyu", "konkyu-hojin", "agency", True, True)
PROMOTER = Office("promoter:div-kaigo", "city", "promoter_desk", True, True)
P = uuid.uuid4()


def _refer(to: Office, *consents: Consent) -> domain.Referral:
    return domain.refer(uuid.uuid4(), (P,), ("debt",), "normal", "div-kaigo", to,
                        "specialist_support", "w-kaigo", consents, AT)


def test_a_referral_shares_only_what_consent_covers() -> None:
    city_only = Consent(P, frozenset({"city"}), frozenset({"support"}), AT)
    with pytest.raises(domain.NotCovered) as refused:
        _refer(KONKYU, city_only)
    assert refused.value.persons == [P] and "同意" in str(refused.value) and "consent" in str(refused.value)
    covered = Consent(P, frozenset({"konkyu-hojin"}), frozenset({"support"}), AT)
    [requested] = _refer(KONKYU, covered).events
    assert isinstance(requested, ReferralRequested) and requested.from_office == "div-kaigo"


def test_an_office_that_takes_no_handovers_is_refused() -> None:
    with pytest.raises(domain.ReferralRuleBroken):
        _refer(Office("minsei", "minsei-kyogikai", "partner", False, False))


def test_a_referral_to_the_promoter_is_an_escalation() -> None:
    consent = Consent(P, frozenset({"city"}), frozenset({"support"}), AT)
    referral = _refer(PROMOTER, consent)
    assert referral.destination_kind == "promoter"
    assert isinstance(referral.events[1], EscalatedToPromoter)


@pytest.mark.parametrize(("status", "action", "reaches"), [
    ("requested", "accept", "accepted"), ("requested", "decline", "declined"),
    ("accepted", "start", "in_progress"), ("in_progress", "complete", "completed"),
    ("requested", "complete", "completed"), ("accepted", "withdraw", "withdrawn"),
])
def test_each_lifecycle_step(status: str, action: domain.Action, reaches: str) -> None:
    state, event = domain.move(P, P, "a", "b", status, action, AT, "no_capacity", "partly")
    assert state == reaches and event.from_office == "a" and event.to_office == "b"  # type: ignore[attr-defined]
    if action == "decline":
        assert isinstance(event, ReferralDeclined) and event.decline_reason == "no_capacity"
    if action == "complete":
        assert isinstance(event, ReferralCompleted) and event.outcome == "partly"


@pytest.mark.parametrize(("status", "action"), [
    ("declined", "accept"), ("completed", "withdraw"), ("withdrawn", "complete"), ("requested", "start"),
])
def test_no_step_out_of_a_closed_state(status: str, action: domain.Action) -> None:
    with pytest.raises(domain.ReferralRuleBroken):
        domain.move(P, P, "a", "b", status, action, AT, "no_capacity", "partly")


def test_an_outcome_may_come_after_the_completion_but_only_once() -> None:
    state, event = domain.move(P, P, "a", "b", "in_progress", "complete", AT)
    assert state == "completed" and isinstance(event, ReferralCompleted) and event.outcome is None
    state, event = domain.move(P, P, "a", "b", "completed", "complete", AT, outcome="got_help")
    assert isinstance(event, ReferralCompleted) and event.outcome == "got_help"
    with pytest.raises(domain.ReferralRuleBroken):
        domain.move(P, P, "a", "b", "completed", "complete", AT, outcome="partly", has_outcome=True)


JST = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(("made", "due"), [
    # Fri 12/25: 12/28, then the closure 12/29-1/3, then 1/4-1/7 -> answer by the end of 1/7
    (datetime(2026, 12, 25, 10, tzinfo=JST), datetime(2027, 1, 8, tzinfo=JST)),
    # Fri 1/8: Coming of Age Day (Mon 1/11) does not count -> 1/12-1/15, 1/18
    (datetime(2027, 1, 8, 10, tzinfo=JST), datetime(2027, 1, 19, tzinfo=JST)),
])
def test_answer_by_counts_the_citys_working_days(made: datetime, due: datetime) -> None:
    referral = domain.refer(uuid.uuid4(), (), ("debt",), "normal", "div-kaigo", KONKYU,
                            "specialist_support", "w-kaigo", (), made)
    assert referral.answer_due_at == due and domain.follow_up_due(made) == due
