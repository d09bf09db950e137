"""The outreach case's stages, partners' reports and weak signals, as pure rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.envelope import EventData
from contracts.events.outreach import (
    ContactAttempted,
    ContactMade,
    OutreachEnded,
    OutreachHandedOver,
    OutreachStageChanged,
    OutreachStarted,
    WeakSignalAlert,
)
from services.outreach.domain import cases, reports

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
AGREEMENT = reports.Agreement("partner-1", "minsei", date(2026, 4, 1),
                              frozenset({"mail_piling_up", "no_utility_use"}))


def _stages(events: list[EventData]) -> list[tuple[str, str]]:
    return [(e.from_stage, e.to_stage) for e in events if isinstance(e, OutreachStageChanged)]


def test_the_whole_path_to_hand_over() -> None:
    person = uuid.uuid4()
    case, started = cases.start("coordinators", "coordinator", AT, person_id=person)
    assert isinstance(started[0], OutreachStarted) and started[0].sensitivity_label() == "confidential-106-6"
    case, events = cases.attempt(case, "letter", "no_answer", AT, date(2026, 12, 3))
    assert case.stage == "attempting_contact" and isinstance(events[0], ContactAttempted)
    case, events = cases.attempt(case, "visit", "contact_made", AT)
    assert case.stage == "contact_made" and any(isinstance(e, ContactMade) for e in events)
    case, events = cases.attempt(case, "visit", "contact_made", AT)  # later contacts: logged only
    assert case.stage == "contact_made" and len(events) == 1
    case, _ = cases.move(case, "build_relationship", AT)
    consent = uuid.uuid4()
    case, events = cases.hand_over(case, consent, "houkatsu-1", ("elderly_care",), AT)
    assert case.stage == "handed_over"
    assert _stages(events) == [("relationship_building", "consent_obtained"),
                               ("consent_obtained", "handed_over")]
    handed = events[-1]
    assert isinstance(handed, OutreachHandedOver) and handed.person_id == person
    assert handed.consent_id == consent and handed.sensitivity_label() is None  # consented


def test_pause_resumes_where_it_was_and_end_needs_a_reason() -> None:
    case, _ = cases.start("coordinators", "report", AT, named=False)
    case, _ = cases.attempt(case, "phone", "no_answer", AT)
    with pytest.raises(cases.CaseRuleBroken):
        cases.move(case, "pause", AT)  # no reason
    paused, events = cases.move(case, "pause", AT, "hospitalised")
    assert paused.stage == "paused" and events[0].sensitivity_label() is None  # an address only
    with pytest.raises(cases.CaseRuleBroken):
        cases.attempt(paused, "visit", "no_answer", AT)
    resumed, _ = cases.move(paused, "resume", AT)
    assert resumed.stage == "attempting_contact"
    ended, events = cases.move(resumed, "end", AT, "moved_away")
    assert ended.stage == "ended" and isinstance(events[-1], OutreachEnded)
    for action in ("resume", "pause", "end", "build_relationship"):
        with pytest.raises(cases.CaseRuleBroken):
            cases.move(ended, action, AT, "other")


def test_no_hand_over_before_contact_or_without_a_person() -> None:
    case, _ = cases.start("coordinators", "coordinator", AT, person_id=uuid.uuid4())
    with pytest.raises(cases.CaseRuleBroken):
        cases.hand_over(case, uuid.uuid4(), "coordinators", (), AT)
    unknown, _ = cases.start("coordinators", "alert", AT)
    unknown, _ = cases.attempt(unknown, "visit", "contact_made", AT)
    with pytest.raises(cases.CaseRuleBroken):
        cases.hand_over(unknown, uuid.uuid4(), "coordinators", (), AT)


def test_attempts_take_known_codes_and_no_past_plans() -> None:
    case, _ = cases.start("coordinators", "coordinator", AT)
    with pytest.raises(cases.CaseRuleBroken):
        cases.attempt(case, "email", "no_answer", AT)
    with pytest.raises(cases.CaseRuleBroken):
        cases.attempt(case, "visit", "no_answer", AT, date(2026, 11, 30))


def test_a_partner_reports_only_within_its_agreement() -> None:
    event = reports.report(AGREEMENT, ["mail_piling_up"], "low", AT, False, AT)
    assert event.partner_office == "minsei" and event.sensitivity_label() is None
    assert reports.report(AGREEMENT, ["no_utility_use"], "low", AT, True, AT).sensitivity_label() \
        == "confidential-106-6"
    for agreement, seen in ((None, ["mail_piling_up"]), (AGREEMENT, ["shouting"]),
                            (AGREEMENT, ["unheard_of"]), (AGREEMENT, [])):
        with pytest.raises(reports.ReportRefused):
            reports.report(agreement, seen, "low", AT, False, AT)
    ended = reports.Agreement("p", "minsei", date(2025, 1, 1), frozenset({"shouting"}), date(2026, 3, 31))
    with pytest.raises(reports.ReportRefused):
        reports.report(ended, ["shouting"], "low", AT, False, AT)
    with pytest.raises(reports.ReportRefused):
        reports.report(AGREEMENT, ["mail_piling_up"], "low", AT + timedelta(hours=1), False, AT)


def test_subjects_compare_normalised_and_keep_no_address_in_clear() -> None:
    kind, key = reports.subject("福生市加美平３－４－５", None)
    assert (kind, key) == reports.subject("東京都福生市加美平三丁目4番地5号", "山田太郎")
    assert "加美平" not in key and len(key) == 64
    assert reports.subject(None, "山田　太郎") == reports.subject("", "山田太郎")
    assert reports.subject(None, "山田太郎")[0] == "person"
    with pytest.raises(reports.ReportRefused):
        reports.subject("  ", None)


def test_a_weak_signal_is_raised_once_per_window() -> None:
    ids = [uuid.uuid4() for _ in range(4)]

    def signal(n: int, last: datetime | None) -> WeakSignalAlert | None:
        return reports.weak_signal(ids[:n], last, AT, 3, 30, "coordinators", "address", False)

    assert signal(2, None) is None
    alert = signal(3, None)
    assert alert is not None and alert.report_count == 3 and alert.report_ids == tuple(ids[:3])
    assert signal(4, AT - timedelta(days=29)) is None  # a fourth within the window: no second
    assert signal(3, AT - timedelta(days=31)) is not None  # the last alert's window has passed


def test_a_registration_is_an_event_and_a_repeated_one_is_not() -> None:
    agreement_id = uuid.uuid4()
    first = reports.agreed(None, AGREEMENT, agreement_id, AT)
    assert first is not None and first.partner_office == "minsei" and first.until is None
    assert first.agreement_id == agreement_id and first.sensitivity_label() is None
    assert "partner-1" not in first.model_dump_json()  # the office, not the partner's account
    assert reports.agreed(AGREEMENT, AGREEMENT, agreement_id, AT) is None
    ended = reports.Agreement("partner-1", "minsei", date(2026, 4, 1), AGREEMENT.may_report,
                              date(2027, 3, 31))
    changed = reports.agreed(AGREEMENT, ended, agreement_id, AT)
    assert changed is not None and changed.until == date(2027, 3, 31)
