"""Who may see what: one access policy for every service. Pure: facts in, decision out.

The rules are an ordered table (first match decides), so the table can be read, reviewed and
unit-tested as data. After a permit, protected field classes the user has no right to are
removed from the response. Sources: the plan's rules 2, 3 and 6 (DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from kit.principal import STAFF_ROLES, Principal

Action = Literal["read", "write", "export", "search", "disclose"]
Outcome = Literal["permitted", "denied", "break-glass"]

# Protected classes of fields a record may contain.
MEETING_NOTES = "meeting_notes"  # 支援会議 material: members only, for that purpose
HEALTH = "health"  # health details: holders, or consent that names the health purpose


@dataclass(frozen=True)
class Workplace:
    """Where a user (or an office) acts, as the directory view says: never from a role or token."""

    offices: frozenset[str] = frozenset()
    legal_bodies: frozenset[str] = frozenset()  # of those offices
    participating: frozenset[str] = frozenset()  # of those legal bodies, the 重層的支援体制's


@dataclass(frozen=True)
class Office:
    """One office as the directory view holds it."""

    office_id: str
    legal_body_id: str
    kind: str
    takes_handovers: bool
    participating: bool

    @property
    def place(self) -> Workplace:
        """The office as a consent scope sees it: itself and its legal body."""
        body = frozenset({self.legal_body_id})
        return Workplace(frozenset({self.office_id}), body,
                         body if self.participating else frozenset())


@dataclass(frozen=True)
class Consent:
    """One person's consent to share (個人情報共有の同意), as every service's view holds it.

    Its scope names legal bodies (or single offices of one); an office's staff are covered by a
    scope naming their office or their office's legal body. "Every participating body" is an
    explicit choice, never a wildcard string.
    """

    person_id: UUID
    agencies: frozenset[str]  # legal-body or office ids
    purposes: frozenset[str]  # e.g. {"support"} or {"support", "health"}
    valid_from: datetime
    valid_until: datetime | None = None
    withdrawn_at: datetime | None = None
    all_participating: bool = False
    withdrawn_for: frozenset[str] = frozenset()  # bodies or offices it no longer covers

    def active(self, at: datetime) -> bool:
        """Given, not yet expired and not withdrawn at `at`."""
        return (self.valid_from <= at
                and (self.valid_until is None or at < self.valid_until)
                and (self.withdrawn_at is None or at < self.withdrawn_at))

    def covers(self, place: Workplace, purpose: str, at: datetime) -> bool:
        mine = place.offices | place.legal_bodies
        if not self.active(at) or purpose not in self.purposes or mine & self.withdrawn_for:
            return False
        return bool(mine & self.agencies) or (self.all_participating and bool(place.participating))


@dataclass(frozen=True)
class Record:
    """Facts about the object being accessed."""

    municipality: str
    holders: frozenset[str]  # agencies, divisions or offices that recorded or hold it
    person_ids: frozenset[UUID] = frozenset()
    meeting_ids: frozenset[UUID] = frozenset()  # 支援会議 where it is tabled
    confidential_106_6: bool = False  # material of a 支援会議 about people without consent
    field_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: Action
    at: datetime
    consents: tuple[Consent, ...] = ()
    member_of: frozenset[UUID] = frozenset()  # looked up from the meetings view, never the token
    break_glass_reason: str | None = None
    purpose: str = "support"
    place: Workplace = Workplace()  # looked up from the directory view, never the token


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    hidden: frozenset[str] = field(default_factory=frozenset)

    @property
    def permitted(self) -> bool:
        return self.outcome != "denied"


def _holder(r: Request, rec: Record) -> bool:
    return bool(r.place.offices & rec.holders)


def _member(r: Request, rec: Record) -> bool:
    return bool(r.member_of & rec.meeting_ids)


def _consented(r: Request, rec: Record) -> bool:
    if not rec.person_ids or rec.confidential_106_6:
        return False  # 支援会議 material never flows into consent-based access
    return all(any(c.person_id == pid and c.covers(r.place, r.purpose, r.at)
                   for c in r.consents) for pid in rec.person_ids)


def _break_glass(r: Request, rec: Record) -> bool:
    reason = (r.break_glass_reason or "").strip()
    return len(reason) >= 10 and r.principal.has(*STAFF_ROLES) and not rec.confidential_106_6


Predicate = Callable[[Request, Record], bool]
RULES: tuple[tuple[str, Predicate, Outcome], ...] = (
    ("another municipality's data", lambda r, rec: rec.municipality != r.principal.municipality,
     "denied"),
    ("only support staff read case records: partners report concerns and read nothing back; "
     "auditors read the audit trail; operators read metrics",
     lambda r, rec: not r.principal.has(*STAFF_ROLES), "denied"),
    ("the user's agency recorded or holds it", _holder, "permitted"),
    ("member of a 支援会議 where it is tabled", _member, "permitted"),
    ("consent of every person concerned covers this agency and purpose", _consented, "permitted"),
    ("break-glass with a stated reason", _break_glass, "break-glass"),
)


def decide(r: Request, rec: Record) -> Decision:
    for reason, applies, outcome in RULES:
        if applies(r, rec):
            if outcome == "denied":
                return Decision("denied", reason)
            return Decision(outcome, reason, _hidden(r, rec, outcome))
    return Decision("denied", "no rule permits this access")


def _hidden(r: Request, rec: Record, outcome: Outcome) -> frozenset[str]:
    hidden = set()
    if MEETING_NOTES in rec.field_classes and not _member(r, rec):
        hidden.add(MEETING_NOTES)
    # Break-glass is for emergencies, where health details may be what matters.
    if HEALTH in rec.field_classes and outcome != "break-glass" and not _holder(r, rec) \
            and not _health_consented(r, rec):
        hidden.add(HEALTH)
    return frozenset(hidden)


def _health_consented(r: Request, rec: Record) -> bool:
    return _consented(replace(r, break_glass_reason=None, purpose="health"), rec)
