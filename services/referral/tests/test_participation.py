"""Participation support's rules: ranked matching with its reasons, the resource gap, follow-up
check-ins on the city's working days, and the seeded community resources."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.referral import domain
from services.referral.domain import participation as rules
from services.referral.domain.matching import Profile, rank
from services.referral.domain.resources import Capacity, search

SEED = domain.DirectoryFile.model_validate_json(
    (Path(domain.__file__).parents[1] / "directory.json").read_text())
AT = datetime(2026, 12, 1, 1, tzinfo=UTC)


def _free(**taken: int) -> dict[str, Capacity]:
    return {r.id: Capacity(r.maximum - taken.get(r.id.replace("-", "_"), 0), r.maximum, AT)
            for r in SEED.resources}


def test_the_seed_has_each_kind_of_resource_hosted_by_an_office() -> None:
    assert {r.kind for r in SEED.resources} == {"place_to_belong", "work_experience", "employment",
                                                "volunteering", "salon", "talent_bank"}
    offices = {o.id for o in SEED.offices}
    assert all(r.host_office in offices for r in SEED.resources)
    event = domain.directory_changed(SEED, 1, AT)
    assert "042-" not in event.model_dump_json() and "resources" not in event.model_dump()


def test_a_belonging_need_ranks_the_nearby_place_first_with_its_reasons() -> None:
    person = Profile(frozenset({"belonging"}), frozenset({"cooking"}), frozenset(), 6,
                     frozenset({"walk"}), "fussa-kita")
    ranking = rank(person, SEED.resources, _free())
    first = ranking.matches[0]
    assert first.resource_id == "ibasho-furatto"
    assert any("居場所" in r for r in first.reasons) and "同じ地区 / in the person's area" in first.reasons
    assert any("cooking" in r for r in first.reasons)
    assert [m.score for m in ranking.matches] == sorted((m.score for m in ranking.matches), reverse=True)
    assert ranking.unmet == ()


def test_what_the_person_cannot_use_is_left_out_with_its_reason() -> None:
    person = Profile(frozenset({"work_experience"}), frozenset({"farming"}), frozenset(), 4,
                     frozenset({"walk"}), "fussa-kita")
    ranking = rank(person, SEED.resources, _free(cafe_work=4))
    why = {e.resource_id: e.reason for e in ranking.excluded}
    assert "移動手段" in why["green-farm"]  # by bicycle or car only
    assert "空きがない" in why["cafe-work"]
    assert "週10時間以上" in why["chukanteki-shuro"]
    morning = rank(Profile(frozenset({"belonging"}), constraints=frozenset({"afternoons_only"}),
                           hours_per_week=4, mobility=frozenset({"walk"})), SEED.resources, _free())
    assert "午前" in {e.resource_id: e.reason for e in morning.excluded}["ibasho-furatto"]
    assert ranking.matches == () and ranking.unmet == ("work_experience",)


def test_a_need_nothing_meets_from_home_is_a_gap_of_that_need_only() -> None:
    person = Profile(frozenset({"employment", "skills_use"}), frozenset({"computers"}), frozenset(),
                     20, frozenset({"home"}), None)
    ranking = rank(person, SEED.resources, _free())
    assert [m.resource_id for m in ranking.matches] == ["jinzai-bank"]
    assert ranking.unmet == ("employment",)


def test_search_by_need_area_and_availability() -> None:
    caps = _free(salon_minami=20)
    found = search(SEED.resources, caps, frozenset({"social_contact"}), "fussa-minami", False)
    assert [r.id for r in found] == ["salon-minami", "volunteer-center"]  # citywide included
    found = search(SEED.resources, caps, frozenset({"social_contact"}), "fussa-minami", True)
    assert [r.id for r in found] == ["volunteer-center"]


@pytest.mark.parametrize(("started", "due"), [
    # Friday 12/25: a week later is the closure, so Monday 1/4; a month later Monday 1/25
    (datetime(2026, 12, 25, 1, tzinfo=UTC),
     {"1w": "2027-01-04", "1m": "2027-01-25", "3m": "2027-03-25", "6m": "2027-06-25"}),
    # 1/31: month ends clamp (2/28), and 4/30 + 0 is a Friday; 7/31 is a Saturday -> 8/2
    (datetime(2027, 1, 31, 1, tzinfo=UTC),
     {"1w": "2027-02-08", "1m": "2027-03-01", "3m": "2027-04-30", "6m": "2027-08-02"}),
])
def test_follow_ups_fall_on_the_citys_working_days(started: datetime, due: dict[str, str]) -> None:
    got = {step: at.date().isoformat() for step, at in rules.follow_ups(started)}
    assert got == due


def test_a_placement_is_made_stable_once() -> None:
    placement = rules.place(uuid.uuid4(), "open", "salon-minami", "shakyo", "coordinators", "c-desk", AT)
    assert placement.event.host_office == "shakyo" and len(placement.follow_ups) == 4
    rules.stable(placement.id, placement.participation_id, "salon-minami", "coordinators", None, AT)
    with pytest.raises(rules.ParticipationRuleBroken):
        rules.stable(placement.id, placement.participation_id, "salon-minami", "coordinators", AT, AT)
    with pytest.raises(rules.ParticipationRuleBroken):
        rules.place(uuid.uuid4(), "stable", "salon-minami", "shakyo", "coordinators", "c-desk", AT)
