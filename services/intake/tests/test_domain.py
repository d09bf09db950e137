"""Never turn away: every consultation is recorded and leaves with somewhere to go."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from kit.policy import Consent, Office
from services.intake.domain import consents
from services.intake.domain import consultations as domain

AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
DESK = Office("general-desk", "city", "general_desk", True, True)
KONKYU = Office("konkyu", "konkyu-hojin", "agency", True, True)


def _receive(destination: domain.Destination | None, **kw: object) -> domain.Consultation:
    args: dict[str, object] = dict(received_at=AT, channel="phone", receiving_division="市民課",
                                   received_by="staff-1", main_complaint=" 家賃が払えない ",
                                   categories=("poverty", "housing", "poverty"), urgency="normal",
                                   destination=destination,
                                   known_categories=frozenset({"poverty", "housing", "abuse"}))
    return domain.receive(**(args | kw))  # type: ignore[arg-type]


def test_any_division_records_any_consultation_and_announces_it() -> None:
    c = _receive(domain.Destination("general_desk"), to=DESK)
    assert c.main_complaint == "家賃が払えない"
    assert c.categories == ("poverty", "housing")  # duplicates dropped, order kept
    [event] = c.events
    assert event.consultation_id == c.id and event.destination_kind == "general_desk"
    assert not hasattr(event, "main_complaint")  # the words stay in intake


def test_a_consultation_without_destination_is_refused() -> None:
    with pytest.raises(domain.NoDestination):
        _receive(None)


def test_agency_destination_must_name_the_agency_and_others_must_not() -> None:
    with pytest.raises(domain.NoDestination):
        domain.Destination("agency")
    with pytest.raises(domain.NoDestination):
        domain.Destination("promoter", agency="x")
    assert domain.Destination("agency", "shakyo").agency == "shakyo"


def test_main_complaint_is_required() -> None:
    with pytest.raises(ValueError):
        _receive(domain.Destination("handled_here"), main_complaint="   ")


def test_only_offices_of_the_directory_that_take_hand_overs_receive() -> None:
    for to in (None, Office("audit", "city", "auditors", False, True),
               Office("minsei", "minsei-kyogikai", "partner", False, False)):
        with pytest.raises(domain.NoDestination):
            _receive(domain.Destination("agency", to.office_id if to else "nowhere"), to=to)
    assert _receive(domain.Destination("agency", "konkyu"), to=KONKYU).destination.agency == "konkyu"


def test_every_person_handed_over_needs_their_own_consent() -> None:
    mother, son = uuid.uuid4(), uuid.uuid4()
    mothers = (uuid.uuid4(), Consent(mother, frozenset({"konkyu-hojin"}), frozenset({"support"}),
                                     AT - timedelta(days=1)))
    sons = (uuid.uuid4(), Consent(son, frozenset({"konkyu"}), frozenset({"support"}),
                                  AT - timedelta(days=1)))

    def hand_over(*named: tuple[uuid.UUID, Consent]) -> domain.Consultation:
        return _receive(domain.Destination("agency", "konkyu"), to=KONKYU, person_ids=(mother, son),
                        consents=(mothers, sons),
                        handover=domain.Handover("家計", "家計相談", tuple(c for c, _ in named)))

    with pytest.raises(domain.HandoverRefused, match=str(son)):
        hand_over(mothers)  # the mother's consent is not the son's
    assert hand_over(mothers, sons).person_ids == (mother, son)


def _give(**kw: object) -> consents.ConsentRecord:
    args: dict[str, object] = dict(person_id=uuid.uuid4(), given_by="person", given_by_name=None,
                                   agencies=("konkyu-hojin",), purposes=("support",),
                                   method="oral", given_at=AT, valid_until=None, evidence_ref=None,
                                   now=AT)
    return consents.give(**(args | kw))[0]  # type: ignore[arg-type]


def test_a_minor_consents_through_a_guardian() -> None:
    with pytest.raises(consents.ConsentRuleBroken, match="guardian"):
        _give(birth_date=date(2011, 12, 1))  # 15 tomorrow
    assert _give(birth_date=date(2011, 11, 30)).given_by == "person"  # 15 today
    assert _give(birth_date=date(2011, 12, 1), given_by="guardian", given_by_name="父").given_by_name
    assert _give(birth_date=date(2009, 1, 1), minor_age=18, given_by="representative",
                 given_by_name="後見人").given_by == "representative"


def test_every_participating_body_is_explicit_and_evidenced() -> None:
    with pytest.raises(consents.ConsentRuleBroken, match="all_participating"):
        _give(agencies=("*",))
    with pytest.raises(consents.ConsentRuleBroken, match="evidence_ref"):
        _give(agencies=(), all_participating=True)
    with pytest.raises(consents.ConsentRuleBroken, match="name the legal bodies"):
        _give(agencies=())
    assert _give(agencies=(), all_participating=True, evidence_ref="同意書-1",
                 participating_bodies=("city",)).all_participating


def test_every_participating_body_means_those_taking_part_when_given() -> None:
    """The event names the bodies taking part now: every service's view covers those alone."""
    taking_part = ("city", "konkyu-hojin", "city")
    record, granted = consents.give(uuid.uuid4(), "person", None, (), ("support",), "written", AT,
                                    None, "同意書-1", AT, all_participating=True,
                                    participating_bodies=taking_part)
    assert record.participating_bodies == granted.participating_bodies == ("city", "konkyu-hojin")
    assert record.as_policy().participating_bodies == {"city", "konkyu-hojin"}
    # Bodies named one by one are the scope: the directory's list is no part of it.
    assert _give(participating_bodies=taking_part).participating_bodies == ()
    with pytest.raises(consents.ConsentRuleBroken, match="no participating body"):
        _give(agencies=(), all_participating=True, evidence_ref="同意書-1")


def test_withdrawal_for_one_body_leaves_the_others() -> None:
    c = _give(agencies=("konkyu-hojin", "houkatsu-hojin"))
    partly, event = consents.withdraw(c, AT, ("konkyu-hojin",))
    assert partly.withdrawn_at is None and partly.withdrawn_for == ("konkyu-hojin",)
    assert event.only_for == ("konkyu-hojin",)
    with pytest.raises(consents.ConsentRuleBroken, match="does not name"):
        consents.withdraw(c, AT, ("soudan-hojin",))
    whole, event = consents.withdraw(partly, AT, ("houkatsu-hojin",))  # the last one: in whole
    assert whole.withdrawn_at == AT and event.only_for == ()
