"""Who may see what: one access policy for every service. Pure: facts in, decision out.

The rules are an ordered table (first match decides), so the table can be read, reviewed and
unit-tested as data. Every rule names the actions it speaks to: reading is not writing (a
consent-based or break-glass reader writes nothing; a 支援会議 member reads what is tabled and
writes only the meeting's own material). After a permit, protected field classes the user has no right to are
removed from the response. Sources: the plan's rules 2, 3 and 6 (DOMAIN.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, get_args
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
    explicit choice, never a wildcard string, and means the bodies taking part when the person
    consented (`participating_bodies`, fixed by intake then), while they still take part: a body
    that joins the 重層的支援体制 later is one the person never heard of. A consent recorded
    before that list was (none given) covers by that choice no body at all, only those it names.
    """

    person_id: UUID
    agencies: frozenset[str]  # legal-body or office ids
    purposes: frozenset[str]  # e.g. {"support"} or {"support", "health"}
    valid_from: datetime
    valid_until: datetime | None = None
    withdrawn_at: datetime | None = None
    all_participating: bool = False
    withdrawn_for: frozenset[str] = frozenset()  # bodies or offices it no longer covers
    participating_bodies: frozenset[str] = frozenset()  # legal bodies taking part when given

    def active(self, at: datetime) -> bool:
        """Given, not yet expired and not withdrawn at `at`."""
        return (self.valid_from <= at
                and (self.valid_until is None or at < self.valid_until)
                and (self.withdrawn_at is None or at < self.withdrawn_at))

    def covers(self, place: Workplace, purpose: str, at: datetime) -> bool:
        mine = place.offices | place.legal_bodies
        if not self.active(at) or purpose not in self.purposes or mine & self.withdrawn_for:
            return False
        return bool(mine & self.agencies) or (
            self.all_participating and bool(place.participating & self.participating_bodies))


@dataclass(frozen=True)
class Record:
    """Facts about the object being accessed."""

    municipality: str
    holders: frozenset[str]  # agencies, divisions or offices that recorded or hold it
    person_ids: frozenset[UUID] = frozenset()
    meeting_ids: frozenset[UUID] = frozenset()  # 支援会議 where it is tabled
    confidential_106_6: bool = False  # material of a 支援会議 about people without consent
    meeting_material: bool = False  # the object is a meeting's own agenda or decisions
    # Material of a meeting resting on consent (重層的支援会議 and the bodies of its regime):
    # membership opens it only where every person's consent covers the member's agency.
    consent_regime: bool = False
    # Offices with a role on the person's support team (a plan's agencies): each writes its own
    # entries (progress notes) while the consent of every person concerned covers it.
    team: frozenset[str] = frozenset()
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


def _covered_member(r: Request, rec: Record) -> bool:
    """A member of the meeting whose agency every person's consent (to support) covers; what
    concerns nobody in particular (a resource gap) is for every member."""
    return _member(r, rec) and (not rec.person_ids or _consented(replace(r, purpose="support"), rec))


def _break_glass(r: Request, rec: Record) -> bool:
    return _legible(r.break_glass_reason or "") >= 10 and r.principal.has(*STAFF_ROLES) \
        and not rec.confidential_106_6


def _legible(text: str) -> int:
    """How many characters a reader sees: no spaces, controls, invisible formatting (zero-width,
    direction marks) or marks on nothing; ten zero-width spaces state no reason to the auditors."""
    return sum(1 for c in text if not c.isspace() and unicodedata.category(c)[0] not in "CMZ")


Predicate = Callable[[Request, Record], bool]
READ: frozenset[Action] = frozenset({"read"})
WRITE: frozenset[Action] = frozenset({"write"})
EVERY_ACTION: frozenset[Action] = frozenset(get_args(Action))
# What holding a case allows: read it, write to it, hand it on (disclose, e.g. table it at a
# meeting) and export it. Nothing else allows more than reading, except a member's writes to
# the meeting's own material.
HOLDER_ACTIONS: frozenset[Action] = frozenset({"read", "write", "disclose", "export"})


@dataclass(frozen=True)
class Rule:
    reason: str
    actions: frozenset[Action]  # the rule speaks only to these actions
    applies: Predicate
    outcome: Outcome


RULES: tuple[Rule, ...] = (
    Rule("他の自治体のデータです / another municipality's data", EVERY_ACTION,
         lambda r, rec: rec.municipality != r.principal.municipality, "denied"),
    Rule("ケース記録は支援に携わる職員だけが扱えます。民生委員は気づきの連絡を、監査担当は監査証跡を、"
         "運用担当はメトリクスを使ってください / only support staff read case records: partners "
         "report concerns and read nothing back; auditors read the audit trail; operators read "
         "metrics", EVERY_ACTION,
         lambda r, rec: not r.principal.has(*STAFF_ROLES), "denied"),
    Rule("the user's office holds it (recorded it for the person who came, or was handed it)",
         HOLDER_ACTIONS, _holder, "permitted"),
    # -- meeting material (issue 10): each item keeps the rule of the body that tabled it -----
    Rule("支援会議の資料は構成員が会議のためにだけ見られます / 支援会議 material is read by its "
         "members for the meeting only", READ,
         lambda r, rec: rec.confidential_106_6 and rec.meeting_material and r.purpose != "meeting",
         "denied"),
    Rule("会議の資料は構成員だけが見られます / a meeting's material is read by its members only",
         READ, lambda r, rec: rec.meeting_material and not _member(r, rec), "denied"),
    Rule("重層的支援会議の資料は、本人の同意が貴機関に及ぶ構成員だけが扱えます / material of a "
         "meeting resting on consent is for members whose agency every person's consent covers",
         EVERY_ACTION, lambda r, rec: rec.consent_regime and not _covered_member(r, rec), "denied"),
    Rule("member of a 支援会議 where it is tabled", READ, _member, "permitted"),
    Rule("member acting in the meeting, on the meeting's own material", WRITE,
         lambda r, rec: rec.meeting_material and _member(r, rec), "permitted"),
    Rule("consent of every person concerned covers this agency and purpose", READ, _consented,
         "permitted"),
    Rule("a team office of the plan writes its own entries while consent covers it", WRITE,
         lambda r, rec: bool(r.place.offices & rec.team) and _consented(r, rec), "permitted"),
    Rule("break-glass with a stated reason (read only)", READ, _break_glass, "break-glass"),
)

# When no rule permits: what the user can do instead (Japanese first, English beside).
WAYS_FORWARD: dict[str, str] = {
    "read": "この人の同意（貴機関を対象とするもの）を保持機関が記録するか、支援会議に付議してください"
            " / ask an office holding the case to record a consent that covers your agency, or "
            "table it at a 支援会議",
    "write": "書き込めるのはこの事例を保持する機関（本人が来所した窓口、または同意・法令により引き継がれた"
             "機関）だけです。同意による閲覧や緊急閲覧では書き込めません / only an office holding the "
             "case (the window the person came to, or one it was handed to with consent or by law) "
             "writes to it; reading under consent or break-glass never allows writing",
    "disclose": "付議・引継ぎができるのはこの事例を保持する機関だけです。保持機関に付議を依頼してください / "
                "only an office holding the case may table or hand it on: ask that office to",
}


def decide(r: Request, rec: Record) -> Decision:
    for rule in RULES:
        if r.action in rule.actions and rule.applies(r, rec):
            if rule.outcome == "denied":
                return Decision("denied", rule.reason)
            return Decision(rule.outcome, rule.reason, _hidden(r, rec, rule.outcome))
    return Decision("denied", f"no rule permits this {r.action}: "
                    + WAYS_FORWARD.get(r.action, WAYS_FORWARD["write"]))


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
