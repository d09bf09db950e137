"""The access policy as a table: each row is one situation a user would check."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kit.policy import HEALTH, MEETING_NOTES, RULES, Action, Consent, Record, Request, Workplace, decide
from kit.principal import Principal

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PERSON, OTHER_PERSON, MEETING = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
# The directory, as a service's view has it: office -> legal body (all but the partner's take part).
LEGAL_BODY = {"div-kaigo": "city", "promoter:div-kaigo": "city", "general-desk": "city",
              "coordinators": "city", "houkatsu-1": "houkatsu-hojin", "soudan-1": "soudan-hojin",
              "konkyu": "konkyu-hojin", "shakyo": "shakyo-hojin", "minsei": "minsei-kyogikai"}
PLACES: dict[str, Workplace] = {}  # user id -> where the directory says they act


def who(agency: str, *roles: str, city: str = "132187",
        acts_for: tuple[str, ...] | None = None) -> Principal:
    """A user whose token names `agency`; the directory says they staff `acts_for` (default:
    that agency)."""
    offices = (agency,) if acts_for is None else acts_for
    user = f"u-{agency}-{'-'.join(roles)}-{'-'.join(offices)}"
    bodies = frozenset(LEGAL_BODY[o] for o in offices)
    PLACES[user] = Workplace(frozenset(offices), bodies, bodies - {"minsei-kyogikai"})
    return Principal(user_id=user, name="x", agency=agency, roles=frozenset(roles),
                     municipality=city)


def consent(agencies: set[str], purposes: set[str] = frozenset({"support"}),  # type: ignore[assignment]
            *, until: datetime | None = None, withdrawn: datetime | None = None,
            person: uuid.UUID = PERSON, everyone: bool = False,
            withdrawn_for: frozenset[str] = frozenset(),
            taking_part: frozenset[str] = frozenset()) -> Consent:
    """`everyone`: to every participating body, those `taking_part` when it was given."""
    return Consent(person, frozenset(agencies), frozenset(purposes), NOW - timedelta(days=30),
                   until, withdrawn, everyone, withdrawn_for, taking_part)


THEN = frozenset({"city", "houkatsu-hojin", "soudan-hojin"})  # taking part a month ago


CASE = Record(municipality="132187", holders=frozenset({"div-kaigo", "houkatsu-1"}),
              person_ids=frozenset({PERSON}), meeting_ids=frozenset({MEETING}),
              field_classes=frozenset({HEALTH, MEETING_NOTES}))
WINDOW, AGENCY = who("div-kaigo", "window_staff"), who("houkatsu-1", "agency_worker")
OTHER = who("soudan-1", "agency_worker")

TEAM_PLAN = Record(municipality="132187", holders=frozenset({"div-kaigo"}),
                   person_ids=frozenset({PERSON}), team=frozenset({"div-kaigo", "soudan-1"}))

CASES = [
    # (situation, principal, consents, member_of, break_glass, record, outcome, hidden)
    ("recording division", WINDOW, (), set(), None, CASE, "permitted", {MEETING_NOTES}),
    ("holding agency", AGENCY, (), set(), None, CASE, "permitted", {MEETING_NOTES}),
    ("other agency, no consent", OTHER, (), set(), None, CASE, "denied", set()),
    ("other agency with consent", OTHER, (consent({"soudan-1"}),), set(), None, CASE,
     "permitted", {MEETING_NOTES, HEALTH}),
    ("consent that names health", OTHER, (consent({"soudan-1"}, {"support", "health"}),), set(),
     None, CASE, "permitted", {MEETING_NOTES}),
    ("consent to every participating body", OTHER, (consent(set(), everyone=True, taking_part=THEN),),
     set(), None, CASE, "permitted", {MEETING_NOTES, HEALTH}),
    ("every participating body: not one that joined since", who("konkyu", "agency_worker"),
     (consent(set(), everyone=True, taking_part=THEN),), set(), None, CASE, "denied", set()),
    ("every participating body, given before the bodies were recorded", OTHER,
     (consent(set(), everyone=True),), set(), None, CASE, "denied", set()),
    ("'*' is no scope", OTHER, (consent({"*"}),), set(), None, CASE, "denied", set()),
    ("consent naming the agency's legal body", OTHER, (consent({"soudan-hojin"}),), set(), None,
     CASE, "permitted", {MEETING_NOTES, HEALTH}),
    ("consent naming the city covers none of another body", OTHER, (consent({"city"}),), set(),
     None, CASE, "denied", set()),
    ("consent withdrawn for this body only", OTHER,
     (consent({"soudan-1", "konkyu"}, withdrawn_for=frozenset({"soudan-hojin"})),), set(), None,
     CASE, "denied", set()),
    ("consent withdrawn for another body still covers this one", who("konkyu", "agency_worker"),
     (consent({"soudan-1", "konkyu"}, withdrawn_for=frozenset({"soudan-hojin"})),), set(), None,
     CASE, "permitted", {MEETING_NOTES, HEALTH}),
    ("consent for another agency", OTHER, (consent({"konkyu"}),), set(), None, CASE, "denied", set()),
    ("consent expired yesterday", OTHER, (consent({"soudan-1"}, until=NOW - timedelta(days=1)),),
     set(), None, CASE, "denied", set()),
    ("consent withdrawn an hour ago", OTHER,
     (consent({"soudan-1"}, withdrawn=NOW - timedelta(hours=1)),), set(), None, CASE, "denied", set()),
    ("consent of only one of two persons", OTHER, (consent({"soudan-1"}),), set(), None,
     Record("132187", frozenset({"div-kaigo"}), frozenset({PERSON, OTHER_PERSON})), "denied", set()),
    ("支援会議 member", OTHER, (), {MEETING}, None, CASE, "permitted", {HEALTH}),
    ("member of another meeting", OTHER, (), {uuid.uuid4()}, None, CASE, "denied", set()),
    ("106-6 material: consent does not open it", OTHER,
     (consent(set(), everyone=True, taking_part=THEN),), set(), None,
     Record("132187", frozenset({"coordinators"}), frozenset({PERSON}), frozenset({MEETING}),
            confidential_106_6=True), "denied", set()),
    ("106-6 material: member", OTHER, (), {MEETING}, None,
     Record("132187", frozenset({"coordinators"}), frozenset({PERSON}), frozenset({MEETING}),
            confidential_106_6=True, field_classes=frozenset({MEETING_NOTES})), "permitted", set()),
    ("106-6 material: no break-glass", OTHER, (), set(), "life may be at risk tonight",
     Record("132187", frozenset({"coordinators"}), frozenset({PERSON}), confidential_106_6=True),
     "denied", set()),
    ("partner", who("minsei", "partner"), (consent({"minsei"}),), set(), None, CASE, "denied", set()),
    ("auditor", who("audit", "auditor", acts_for=()), (), set(), None, CASE, "denied", set()),
    ("operator", who("ops", "operator", acts_for=()), (), set(), None, CASE, "denied", set()),
    ("another city's user", who("div-kaigo", "window_staff", city="132012"), (), set(), None,
     CASE, "denied", set()),
    ("promoter of the recording division",
     who("div-kaigo", "promoter", acts_for=("div-kaigo", "promoter:div-kaigo")), (), set(), None,
     Record("132187", frozenset({"promoter:div-kaigo"})), "permitted", set()),
    ("coordinator and the general desk they staff",
     who("coordinators", "coordinator", acts_for=("general-desk", "coordinators")), (), set(),
     None, Record("132187", frozenset({"general-desk"})), "permitted", set()),
    ("the 社協's coordinator is not the city's general desk",
     who("coordinators", "coordinator", acts_for=("shakyo",)), (), set(), None,
     Record("132187", frozenset({"general-desk", "coordinators"})), "denied", set()),
    ("a token's agency alone places nobody", who("div-kaigo", "window_staff", acts_for=()), (),
     set(), None, CASE, "denied", set()),
    ("window staff is not the general desk", WINDOW, (), set(), None,
     Record("132187", frozenset({"general-desk"})), "denied", set()),
    ("break-glass with a reason", OTHER, (), set(), "緊急: 本人の生命に危険がある", CASE,
     "break-glass", {MEETING_NOTES}),
    ("break-glass without a real reason", OTHER, (), set(), "x", CASE, "denied", set()),
    ("partner cannot break glass", who("minsei", "partner"), (), set(), "緊急: 本人の生命に危険がある",
     CASE, "denied", set()),
]


@pytest.mark.parametrize(("situation", "principal", "consents", "member_of", "glass", "record",
                          "outcome", "hidden"), CASES, ids=[c[0] for c in CASES])
def test_policy(situation: str, principal: Principal, consents: tuple[Consent, ...],
                member_of: set[uuid.UUID], glass: str | None, record: Record, outcome: str,
                hidden: set[str]) -> None:
    decision = decide(Request(principal, "read", NOW, consents, frozenset(member_of), glass,
                              place=PLACES[principal.user_id]), record)
    assert decision.outcome == outcome, decision.reason
    assert decision.hidden == frozenset(hidden)


def test_every_participating_body_means_those_taking_part_when_the_person_consented() -> None:
    """The bodies taking part when the person consented, while they still take part; a consent
    recorded before that list was covers only the bodies it names."""
    def at(office: str, body: str, taking_part: bool = True) -> Workplace:
        return Workplace(frozenset({office}), frozenset({body}),
                         frozenset({body}) if taking_part else frozenset())

    everyone = consent(set(), everyone=True, taking_part=THEN)
    assert everyone.covers(at("soudan-1", "soudan-hojin"), "support", NOW)
    assert not everyone.covers(at("late-1", "late-hojin"), "support", NOW)  # joined since
    assert not everyone.covers(at("soudan-1", "soudan-hojin", taking_part=False), "support", NOW)
    assert not everyone.covers(at("soudan-1", "soudan-hojin"), "health", NOW)
    assert not replace(everyone, withdrawn_for=frozenset({"soudan-hojin"})).covers(
        at("soudan-1", "soudan-hojin"), "support", NOW)
    before = consent({"konkyu"}, everyone=True)  # no bodies recorded: only those it names
    assert before.covers(at("konkyu", "konkyu-hojin"), "support", NOW)
    assert not before.covers(at("soudan-1", "soudan-hojin"), "support", NOW)
    # The list alone is no scope: without the choice it covers nobody.
    assert not consent(set(), taking_part=THEN).covers(at("soudan-1", "soudan-hojin"), "support", NOW)


def test_consent_starts_at_its_date() -> None:
    future = Consent(PERSON, frozenset({"soudan-1"}), frozenset({"support"}), NOW + timedelta(days=1))
    assert decide(Request(OTHER, "read", NOW, (future,), place=PLACES[OTHER.user_id]),
                  CASE).outcome == "denied"


MEETING_ITEMS = Record("132187", frozenset(), frozenset({PERSON}), frozenset({MEETING}),
                       confidential_106_6=True, meeting_material=True)
GLASS = "緊急: 本人の生命に危険がある"
ACTIONS = [
    # (situation, principal, action, consents, member_of, break_glass, record, outcome)
    ("holder writes to the case", WINDOW, "write", (), set(), None, CASE, "permitted"),
    ("holder hands it on (tables it)", AGENCY, "disclose", (), set(), None, CASE, "permitted"),
    ("consent-based reader may not write (record a consent, merge, household)", OTHER, "write",
     (consent({"soudan-1"}, {"support", "health"}),), set(), None, CASE, "denied"),
    ("consent-based reader may not hand it on", OTHER, "disclose", (consent({"*"}),), set(), None,
     CASE, "denied"),
    ("break-glass never writes", OTHER, "write", (), set(), GLASS, CASE, "denied"),
    ("break-glass never hands on", OTHER, "disclose", (), set(), GLASS, CASE, "denied"),
    ("break-glass never exports", OTHER, "export", (), set(), GLASS, CASE, "denied"),
    ("支援会議 member reads the person, but does not write to them", OTHER, "write", (), {MEETING},
     None, CASE, "denied"),
    ("支援会議 member does not hand the person on", OTHER, "disclose", (), {MEETING}, None, CASE,
     "denied"),
    ("member writes the meeting's own material", OTHER, "write", (), {MEETING}, None,
     MEETING_ITEMS, "permitted"),
    ("member of another meeting does not", OTHER, "write", (), {uuid.uuid4()}, None,
     MEETING_ITEMS, "denied"),
    ("a holder who is no member does not write a meeting's material", WINDOW, "write", (), set(),
     None, MEETING_ITEMS, "denied"),
    ("partner holding nothing writes nothing", who("minsei", "partner"), "write", (), set(), None,
     Record("132187", frozenset({"minsei"})), "denied"),
    ("another city's holder writes nothing", who("div-kaigo", "window_staff", city="132012"),
     "write", (), set(), None, CASE, "denied"),
    ("a plan's team office writes its notes under consent", OTHER, "write",
     (consent({"soudan-1"}),), set(), None, TEAM_PLAN, "permitted"),
    ("a team office outside the consent writes nothing", OTHER, "write",
     (consent({"soudan-1"}, withdrawn_for=frozenset({"soudan-hojin"})),), set(), None, TEAM_PLAN,
     "denied"),
    ("consent without a role on the team writes nothing", who("konkyu", "agency_worker"), "write",
     (consent({"konkyu"}),), set(), None, TEAM_PLAN, "denied"),
    ("a team office does not hand the plan on", OTHER, "disclose", (consent({"soudan-1"}),), set(),
     None, TEAM_PLAN, "denied"),
    ("break-glass gives a team office no write", OTHER, "write", (), set(), GLASS, TEAM_PLAN,
     "denied"),
]


@pytest.mark.parametrize(("situation", "principal", "action", "consents", "member_of", "glass",
                          "record", "outcome"), ACTIONS, ids=[c[0] for c in ACTIONS])
def test_policy_tells_reads_and_writes_apart(situation: str, principal: Principal, action: Action,
                                             consents: tuple[Consent, ...],
                                             member_of: set[uuid.UUID], glass: str | None,
                                             record: Record, outcome: str) -> None:
    decision = decide(Request(principal, action, NOW, consents, frozenset(member_of), glass,
                              place=PLACES[principal.user_id]), record)
    assert decision.outcome == outcome, decision.reason


def test_every_rule_names_its_actions() -> None:
    assert all(rule.actions for rule in RULES)
    permitting_writes = {rule.reason for rule in RULES
                         if "write" in rule.actions and rule.outcome != "denied"}
    # Consent alone never lets anyone write: only an office the plan gives a role to writes its
    # own entries while the consent covers it (the team rule, tried above).
    assert not any("break-glass" in r for r in permitting_writes)
    assert [r for r in permitting_writes if "consent" in r] == \
        ["a team office of the plan writes its own entries while consent covers it"]


def test_a_refused_write_names_the_way_forward() -> None:
    reason = decide(Request(OTHER, "write", NOW, (consent({"soudan-1"}),),
                            place=PLACES[OTHER.user_id]), CASE).reason
    assert "保持する機関" in reason and "holding the case" in reason
    reason = decide(Request(OTHER, "read", NOW, place=PLACES[OTHER.user_id]), CASE).reason
    assert "同意" in reason and "支援会議に付議" in reason and "record a consent" in reason


# -- issue 10: an item's materials keep the rule of the body that tabled it --------------------
SUPPORT_ITEM = Record("132187", frozenset(), frozenset({PERSON}), frozenset({MEETING}),
                      confidential_106_6=True, meeting_material=True)
CONSENT_ITEM = Record("132187", frozenset(), frozenset({PERSON}), frozenset({MEETING}),
                      meeting_material=True, consent_regime=True)
MATERIALS = [
    # (situation, principal, action, purpose, consents, member_of, glass, record, outcome)
    ("支援会議 member, for the meeting", OTHER, "read", "meeting", (), {MEETING}, None,
     SUPPORT_ITEM, "permitted"),
    ("支援会議 member, for another purpose", OTHER, "read", "support", (), {MEETING}, None,
     SUPPORT_ITEM, "denied"),
    ("consent opens no 支援会議 item", OTHER, "read", "meeting", (consent({"soudan-1"}),), set(),
     None, SUPPORT_ITEM, "denied"),
    ("member whom consent covers", OTHER, "read", "meeting", (consent({"soudan-1"}),), {MEETING},
     None, CONSENT_ITEM, "permitted"),
    ("member whom consent covers writes the item's material", OTHER, "write", "meeting",
     (consent({"soudan-1"}),), {MEETING}, None, CONSENT_ITEM, "permitted"),
    ("member whose agency no consent covers (added later)", OTHER, "read", "meeting",
     (consent({"konkyu"}),), {MEETING}, None, CONSENT_ITEM, "denied"),
    ("nor writes to it", OTHER, "write", "meeting", (consent({"konkyu"}),), {MEETING}, None,
     CONSENT_ITEM, "denied"),
    ("consent without membership", OTHER, "read", "meeting", (consent({"soudan-1"}),), set(), None,
     CONSENT_ITEM, "denied"),
    ("consent opens no meeting one is no member of", OTHER, "read", "meeting",
     (consent({"soudan-1"}),), set(), None, replace(CONSENT_ITEM, consent_regime=False), "denied"),
    ("no break-glass into meeting material", OTHER, "read", "meeting", (), set(), GLASS,
     CONSENT_ITEM, "denied"),
    ("a holder of the case is no member", WINDOW, "read", "meeting", (consent({"div-kaigo"}),),
     set(), None, CONSENT_ITEM, "denied"),
]


@pytest.mark.parametrize(("situation", "principal", "action", "purpose", "consents", "member_of",
                          "glass", "record", "outcome"), MATERIALS, ids=[c[0] for c in MATERIALS])
def test_meeting_material_keeps_its_bodys_rule(situation: str, principal: Principal,
                                               action: Action, purpose: str,
                                               consents: tuple[Consent, ...],
                                               member_of: set[uuid.UUID], glass: str | None,
                                               record: Record, outcome: str) -> None:
    decision = decide(Request(principal, action, NOW, consents, frozenset(member_of), glass,
                              purpose, PLACES[principal.user_id]), record)
    assert decision.outcome == outcome, decision.reason
