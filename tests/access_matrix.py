"""The access matrix: every endpoint that takes an object id x every kind of principal.

Each later service adds its endpoints to ENDPOINTS; tests/test_access_matrix.py runs them all
against the world of tests/access_world.py. A cell states the expected status; for a 200 it
also lists the fields that must come back empty (protected), and for anything else the
response must not contain any of the world's secrets (zero leaks).

A write that nobody may make (a safeguard) is a row too: `status` is then what the kinds that
pass the access check get (422, naming the way forward), and every other kind is refused with
403 or the same 422 — never accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.access_world import KINDS

Body = Callable[[dict[str, str]], dict[str, Any]]  # the world's ids -> request body


@dataclass(frozen=True)
class Endpoint:
    name: str
    service: str
    path: str  # "{id}" is replaced by the world's object of `obj`
    obj: str
    permitted: frozenset[str]  # kinds that get `status`; every other kind gets 403
    hidden: dict[str, frozenset[str]] = field(default_factory=dict)  # kind -> fields left empty
    method: str = "GET"
    body: Body | None = None
    status: int = 200

    def expected(self, kind: str) -> frozenset[int]:
        if kind in self.permitted:
            return frozenset({self.status})
        return frozenset({403, self.status}) if self.status >= 400 else frozenset({403})


def _kinds(*names: str) -> frozenset[str]:
    assert set(names) <= set(KINDS), set(names) - set(KINDS)
    return frozenset(names)


CASE_READERS = _kinds("same_agency", "other_with_consent", "meeting_member")
STAFF = _kinds("same_agency", "other_agency", "other_with_consent", "expired_consent",
               "withdrawn_consent", "meeting_member", "non_member")
HOLDER = _kinds("same_agency")  # safeguard rows: the holder is told why; others may be refused first
NO_HEALTH = frozenset({"health_notes"})


def _to(agency: str) -> Body:
    """A consultation handed to `agency` (hole 9: only real destinations take hand-overs)."""
    return lambda ids: {"channel": "visit", "main_complaint": "相談", "categories": ["debt"],
                        "destination": {"kind": "agency", "agency": agency}}


def _consent(**scope: Any) -> Body:
    return lambda ids: {"method": "oral", **scope}
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
    # Hole 6: who staffs which office is data. The 社協's coordinator (withdrawn_consent's user)
    # does not act for the city's general desk.
    Endpoint("general desk's consultation", "intake", "/consultations/{id}", "desk_consultation",
             _kinds("same_agency")),
    Endpoint("general desk's inbox", "notifications", "/inbox/general-desk", "person", _kinds()),
    Endpoint("general desk's referrals", "referral", "/referrals?agency=general-desk", "person",
             _kinds()),
    # Hole 5: handed to the 社協 under a consent since withdrawn. The 社協 keeps its copy of what
    # it was handed, and reads neither the live record nor the person's current one.
    Endpoint("consultation handed over, consent since withdrawn", "intake", "/consultations/{id}",
             "handed", CASE_READERS, {"other_with_consent": NO_HEALTH, "meeting_member": NO_HEALTH}),
    Endpoint("the receiver's own copy", "intake", "/consultations/{id}/handed-over-copy", "handed",
             CASE_READERS | _kinds("withdrawn_consent")),
    # Hole 4: consents with safeguards (a minor through a guardian; "every participating body"
    # explicit with evidence; scopes name bodies of the directory).
    Endpoint("a minor's own consent", "intake", "/persons/{id}/consents", "son", HOLDER,
             method="POST", body=_consent(agencies=["konkyu-hojin"]), status=422),
    Endpoint("a wildcard scope", "intake", "/persons/{id}/consents", "person", HOLDER,
             method="POST", body=_consent(agencies=["*"], purposes=["support", "health"]),
             status=422),
    Endpoint("every participating body without evidence", "intake", "/persons/{id}/consents",
             "person", HOLDER, method="POST", body=_consent(all_participating=True), status=422),
    Endpoint("a body not in the directory", "intake", "/persons/{id}/consents", "person",
             HOLDER, method="POST", body=_consent(agencies=["nowhere-npo"]), status=422),
    # Hole 9: inboxes are not destinations; unknown ids are not either.
    Endpoint("hand-over to the auditors' inbox", "intake", "/consultations", "person", STAFF,
             method="POST", body=_to("audit"), status=422),
    Endpoint("hand-over to a partner", "intake", "/consultations", "person", STAFF,
             method="POST", body=_to("minsei"), status=422),
    Endpoint("hand-over to an unknown office", "intake", "/consultations", "person", STAFF,
             method="POST", body=_to("nowhere-npo"), status=422),
    # Hole 3: the mother's consent is not the son's.
    Endpoint("one person's consent for two", "intake", "/consultations", "person", HOLDER,
             method="POST", status=422, body=lambda ids: {
                 "channel": "visit", "main_complaint": "相談", "person_ids": [ids["person"], ids["son"]],
                 "destination": {"kind": "agency", "agency": "houkatsu-1"},
                 "handover": {"reason": "母子の支援", "consent_id": ids["consent_handover"]}}),
]
