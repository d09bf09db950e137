"""The plan's rules, the ledger and the timers, as a coordinator would check them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from kit.workdays import JST
from services.plans import domain, ledger, sheets
from services.plans.domain import Decision, DecisionMissing, Plan, PlanRuleBroken
from services.plans.ledger import Entry

AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PERSON = uuid.uuid4()
PLAN = Plan(uuid.uuid4(), frozenset({PERSON}), 1, {})


def decision(kind: str, **facts: object) -> Decision:
    return Decision(uuid.uuid4(), uuid.uuid4(), kind, frozenset({PERSON}), AT, **facts)  # type: ignore[arg-type]


def test_a_draft_is_approved_only_by_a_decision_for_that_plan_and_version() -> None:
    with pytest.raises(DecisionMissing) as missing:
        domain.approve(PLAN, [decision("approve_plan", plan_id=uuid.uuid4(), plan_version=1),
                              decision("approve_plan", plan_id=PLAN.id, plan_version=2),
                              decision("close", plan_id=PLAN.id, evaluation="met")])
    assert missing.value.extra["missing"] == {"kind": "approve_plan", "plan_id": str(PLAN.id),
                                              "plan_version": 1}
    assert f"plan_id={PLAN.id}" in missing.value.detail
    ok = decision("approve_plan", plan_id=PLAN.id, plan_version=1)
    approved, used = domain.approve(PLAN, [ok])
    assert (approved.status, approved.in_force, used) == ("approved", 1, ok)


def test_a_superseded_or_foreign_decision_does_not_approve() -> None:
    gone = decision("approve_plan", plan_id=PLAN.id, plan_version=1, superseded_by=uuid.uuid4())
    other_person = Decision(uuid.uuid4(), uuid.uuid4(), "approve_plan", frozenset({uuid.uuid4()}),
                            AT, PLAN.id, 1)
    with pytest.raises(DecisionMissing):
        domain.approve(PLAN, [gone, other_person])


def test_draft_approved_in_progress_reviewed_reapproved_closed() -> None:
    first = decision("approve_plan", plan_id=PLAN.id, plan_version=1)
    plan, _ = domain.approve(PLAN, [first])
    plan, note = domain.record_progress(plan, "kodomo-1", AT)
    assert plan.status == "in_progress" and note.office == "kodomo-1"
    plan, reviewed = domain.review(plan, AT)
    assert (plan.status, plan.in_force, reviewed and reviewed.version) == ("reviewed", 1, 2)
    with pytest.raises(DecisionMissing):  # version 1's decision does not approve version 2
        domain.approve(plan, [first])
    plan, _ = domain.approve(plan, [first, decision("approve_plan", plan_id=PLAN.id, plan_version=2)])
    assert (plan.status, plan.in_force) == ("approved", 2)
    with pytest.raises(PlanRuleBroken):
        domain.approve(plan, [first])
    with pytest.raises(DecisionMissing) as missing:
        domain.close(plan, [], AT)
    assert missing.value.extra["missing"]["kind"] == "close"
    plan, closed = domain.close(plan, [decision("close", plan_id=PLAN.id, evaluation="partly_met")], AT)
    assert (plan.status, closed.evaluation, closed.version) == ("closed", "partly_met", 2)
    for act in (lambda: domain.review(plan, AT), lambda: domain.record_progress(plan, "x", AT)):
        with pytest.raises(PlanRuleBroken):
            act()


def test_no_progress_before_approval_and_a_draft_revision_announces_nothing() -> None:
    with pytest.raises(DecisionMissing):
        domain.record_progress(PLAN, "kodomo-1", AT)
    revised, event = domain.review(PLAN, AT)
    assert (revised.latest, revised.status, event) == (2, "draft", None)


def test_a_correction_withdraws_what_rested_on_the_old_decision_and_lets_the_new_act() -> None:
    old = decision("approve_plan", plan_id=PLAN.id, plan_version=1)
    plan, _ = domain.approve(PLAN, [old])
    elsewhere = decision("approve_plan", plan_id=uuid.uuid4(), plan_version=1)
    reverted, _ = domain.superseded(plan, old.decision_id, elsewhere, AT)
    assert reverted.status == "draft"
    again = decision("approve_plan", plan_id=PLAN.id, plan_version=1)
    kept, _ = domain.superseded(plan, old.decision_id, again, AT)
    assert kept.approved == {1: again.decision_id}
    shut = decision("close", plan_id=PLAN.id, evaluation="not_met")
    closed, _ = domain.close(plan, [shut], AT)
    fixed, events = domain.superseded(closed, shut.decision_id,
                                      decision("close", plan_id=PLAN.id, evaluation="met"), AT)
    assert (fixed.status, fixed.evaluation, [e.evaluation for e in events]) == ("closed", "met", ["met"])  # type: ignore[attr-defined]


def test_the_ledger_answers_who_led_at_an_instant() -> None:
    a = Entry("kodomo-1", "u-a", AT, uuid.uuid4())
    b = Entry("konkyu", "u-b", AT + timedelta(days=10), uuid.uuid4())
    wrong = Entry("soudan-1", "u-c", AT + timedelta(days=20), uuid.uuid4(), in_force=False)
    fixed = Entry("div-kaigo", "u-d", AT + timedelta(days=20), uuid.uuid4())
    entries = [a, b, wrong, fixed]
    assert ledger.lead_at(entries, AT - timedelta(seconds=1)) is None
    assert ledger.lead_at(entries, AT + timedelta(days=5)) == a
    assert ledger.lead_at(entries, AT + timedelta(days=25)) == fixed
    assert [(e.lead_agency, until) for e, until in ledger.periods(entries)] == [
        ("kodomo-1", b.effective_at), ("konkyu", fixed.effective_at), ("div-kaigo", None)]


def test_timers_count_the_citys_working_days() -> None:
    jst = JST
    # a Saturday review date is due at the end of Monday; 1/2 (the closure) at the end of 1/4
    assert ledger.review_due(date(2026, 12, 5)) == datetime(2026, 12, 8, tzinfo=jst)
    assert ledger.review_due(date(2027, 1, 2)) == datetime(2027, 1, 5, tzinfo=jst)
    assert ledger.review_due(date(2026, 12, 2)) == datetime(2026, 12, 3, tzinfo=jst)
    # a Friday decision before the closure: two working days are 12/28 and 1/4
    assert ledger.lead_due(datetime(2026, 12, 25, 10, tzinfo=jst)) == datetime(2027, 1, 5, tzinfo=jst)
    checks = ledger.connection_checks(datetime(2026, 12, 11, 10, tzinfo=jst))
    assert checks[0] == datetime(2027, 1, 16, tzinfo=jst)  # past the closure and 1/11 (成人の日)
    assert len(checks) == ledger.CONNECTION_CHECKS and checks == sorted(checks)


def test_an_assessment_is_completed_with_wishes_and_approved_only_by_its_decision() -> None:
    with pytest.raises(PlanRuleBroken) as broken:
        sheets.complete(sheets.Sheet(), "draft")
    assert broken.value.extra["missing"] == ["wishes", "areas"]
    sheets.complete(sheets.Sheet(wishes="家にいたい", areas={"housing": sheets.Finding()}), "draft")
    aid = uuid.uuid4()
    with pytest.raises(PlanRuleBroken):
        sheets.approval(aid, frozenset({PERSON}), "draft", [])
    with pytest.raises(DecisionMissing):
        sheets.approval(aid, frozenset({PERSON}), "completed",
                        [decision("approve_assessment", assessment_id=uuid.uuid4())])
    ok = decision("approve_assessment", assessment_id=aid)
    assert sheets.approval(aid, frozenset({PERSON}), "completed", [ok]) == ok


def test_parts_are_written_only_where_a_meeting_decided_them() -> None:
    content = sheets.Content(goals=[sheets.Goal(term="short", words="外に出たい")],
                             roles=[sheets.Role(agency="kodomo-1", role="訪問", actions="週1回")],
                             lead_agency="div-kaigo", lead_worker="w", review_dates=[date(2027, 3, 1)],
                             participation="就労体験")
    assert content.team() == {"kodomo-1", "div-kaigo"}
    with pytest.raises(DecisionMissing) as missing:
        sheets.check_parts(content, frozenset({PERSON}), [decision("start_outreach")])
    assert missing.value.extra["missing"] == {"kind": "start_participation_support",
                                              "part": "participation"}
    sheets.check_parts(content, frozenset({PERSON}), [decision("start_participation_support")])
