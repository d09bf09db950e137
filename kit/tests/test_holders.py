"""Who holds a case, as a table: naming someone makes nobody their holder."""

from __future__ import annotations

import pytest

from kit.holders import of_consultation, of_person_on

CASES = [
    # (situation, destination kind, agency, present, holders of the person)
    ("came to the window, handled there", "handled_here", None, True, {"div-kaigo"}),
    ("came, sent to the general desk", "general_desk", None, True, {"div-kaigo", "general-desk"}),
    ("came, sent to the promoter", "promoter", None, True, {"div-kaigo", "promoter:div-kaigo"}),
    ("named only, handled here", "handled_here", None, False, set()),
    ("named only, sent to the general desk", "general_desk", None, False, set()),
    ("named only, sent to the promoter", "promoter", None, False, set()),
    # an agency keeps its copy of what it was handed, and reads the person only under consent
    ("handed to an agency with consent", "agency", "konkyu", False, set()),
    ("handed to the coordinators with consent", "coordinator", None, False, {"coordinators"}),
    ("came, and handed to an agency", "agency", "konkyu", True, {"div-kaigo"}),
]


@pytest.mark.parametrize(("situation", "kind", "agency", "present", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_who_holds_a_person(situation: str, kind: str, agency: str | None, present: bool,
                            expected: set[str]) -> None:
    assert of_person_on("div-kaigo", kind, agency, present) == frozenset(expected)  # type: ignore[arg-type]


def test_a_consultation_is_held_by_its_window_and_the_city_office_it_went_to() -> None:
    assert of_consultation("div-kaigo", "general_desk", None) == {"div-kaigo", "general-desk"}
    assert of_consultation("div-kaigo", "agency", "konkyu") == {"div-kaigo"}  # konkyu: its copy
    assert of_consultation("div-kaigo", "handled_here", None) == {"div-kaigo"}
