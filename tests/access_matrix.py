"""The access matrix: every endpoint that takes an object id x every kind of principal.

Each later service adds its endpoints to ENDPOINTS; tests/test_access_matrix.py runs them all
against the world of tests/access_world.py. A cell states the expected status; for a 200 it
also lists the fields that must come back empty (protected), and for anything else the
response must not contain any of the world's secrets (zero leaks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.access_world import KINDS


@dataclass(frozen=True)
class Endpoint:
    name: str
    service: str
    path: str  # "{id}" is replaced by the world's object of `obj`
    obj: str
    permitted: frozenset[str]  # kinds that get 200; every other kind gets 403
    hidden: dict[str, frozenset[str]] = field(default_factory=dict)  # kind -> fields left empty

    def expected(self, kind: str) -> int:
        return 200 if kind in self.permitted else 403


def _kinds(*names: str) -> frozenset[str]:
    assert set(names) <= set(KINDS), set(names) - set(KINDS)
    return frozenset(names)


CASE_READERS = _kinds("same_agency", "other_with_consent", "meeting_member")
ENDPOINTS: list[Endpoint] = [
    Endpoint("consultation", "intake", "/consultations/{id}", "consultation", CASE_READERS,
             {"other_with_consent": frozenset({"health_notes"}),
              "meeting_member": frozenset({"health_notes"})}),
    Endpoint("person", "intake", "/persons/{id}", "person", CASE_READERS),
    Endpoint("person's consents", "intake", "/persons/{id}/consents", "person", CASE_READERS),
    Endpoint("household", "intake", "/households/{id}", "household", CASE_READERS),
    Endpoint("referral", "referral", "/referrals/{id}", "referral", CASE_READERS),
    # 支援会議 material: its members only, whatever else the user may see.
    Endpoint("support meeting", "meetings", "/meetings/{id}", "meeting", _kinds("meeting_member")),
]
