"""Never turn away: every consultation is recorded and leaves with somewhere to go."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.domain import consultations as domain

AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _receive(destination: domain.Destination | None, **kw: object) -> domain.Consultation:
    args: dict[str, object] = dict(received_at=AT, channel="phone", receiving_division="市民課",
                                   received_by="staff-1", main_complaint=" 家賃が払えない ",
                                   categories=("poverty", "housing", "poverty"), urgency="normal",
                                   destination=destination,
                                   known_categories=frozenset({"poverty", "housing", "abuse"}))
    return domain.receive(**(args | kw))  # type: ignore[arg-type]


def test_any_division_records_any_consultation_and_announces_it() -> None:
    c = _receive(domain.Destination("general_desk"))
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
