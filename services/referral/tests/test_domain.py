"""Where a consultation is routed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.events.intake import ConsultationReceived
from contracts.taxonomy import COORDINATORS, GENERAL_DESK
from services.referral import domain

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
    assert requested.consultation_id == event.consultation_id and requested.urgency == "high"


def test_handled_at_the_window_needs_no_routing_task() -> None:
    assert domain.open_routing_task(_event("handled_here"), AT) is None
