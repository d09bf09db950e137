"""Consent to share (個人情報共有の同意). Rules only; no I/O.

Who gave it (the person, a guardian or a representative), its scope (legal bodies, or the
explicit choice of every participating body, and purposes), method, date and optional expiry.
"Every participating body" is fixed when given: the legal bodies taking part then, as the
directory says (a body joining later is not one the person consented to).
Immutable once given: a change is a new consent; withdrawal, in whole or for single bodies, is
possible at any time and takes effect from that moment. A minor under the configured age
consents through a guardian or legal representative.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from contracts.events.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn
from kit.policy import Consent

PURPOSES = ("support", "health", "meeting")
GivenBy = Literal["person", "guardian", "representative"]
Method = Literal["written", "oral"]


class ConsentRuleBroken(ValueError):
    """A consent the rules refuse."""


@dataclass(frozen=True)
class ConsentRecord:
    id: uuid.UUID
    person_id: uuid.UUID
    given_by: GivenBy
    given_by_name: str | None
    agencies: tuple[str, ...]
    purposes: tuple[str, ...]
    method: Method
    given_at: datetime
    valid_until: datetime | None = None
    evidence_ref: str | None = None
    withdrawn_at: datetime | None = None
    all_participating: bool = False
    withdrawn_for: tuple[str, ...] = ()
    participating_bodies: tuple[str, ...] = ()  # taking part when given (all_participating)

    def as_policy(self) -> Consent:
        return Consent(self.person_id, frozenset(self.agencies), frozenset(self.purposes),
                       self.given_at, self.valid_until, self.withdrawn_at, self.all_participating,
                       frozenset(self.withdrawn_for), frozenset(self.participating_bodies))


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def give(person_id: uuid.UUID, given_by: GivenBy, given_by_name: str | None,
         agencies: tuple[str, ...], purposes: tuple[str, ...], method: Method, given_at: datetime,
         valid_until: datetime | None, evidence_ref: str | None,
         now: datetime, *, all_participating: bool = False,
         participating_bodies: tuple[str, ...] = (), birth_date: date | None = None,
         minor_age: int = 15) -> tuple[ConsentRecord, ConsentGranted]:
    """`participating_bodies`: the legal bodies taking part now (the directory's); a consent to
    every participating body covers those, and no body that joins later."""
    if "*" in agencies:
        raise ConsentRuleBroken("「*」は範囲ではありません。参加するすべての機関を対象にするには "
                                "all_participating: true と同意書の参照 (evidence_ref) を記録して"
                                "ください / '*' is not a scope: choose all_participating: true, "
                                "with the signed form's reference (evidence_ref)")
    if all_participating and not (evidence_ref or "").strip():
        raise ConsentRuleBroken("参加するすべての機関への同意には同意書の参照 (evidence_ref) が必要"
                                "です / consent to every participating body needs its evidence "
                                "(evidence_ref)")
    if all_participating and not participating_bodies:
        raise ConsentRuleBroken("名簿に参加機関がまだありません。対象の法人・機関を挙げてください / "
                                "the directory lists no participating body yet: name the bodies")
    if not agencies and not all_participating:
        raise ConsentRuleBroken("対象の法人・機関を挙げるか、all_participating を選んでください / "
                                "name the legal bodies it covers, or choose all_participating")
    if birth_date is not None and given_by == "person" \
            and age_on(birth_date, given_at.date()) < minor_age:
        raise ConsentRuleBroken(f"{minor_age}歳未満の方の同意は保護者または法定代理人が行います"
                                f"（given_by: guardian / representative） / a person under "
                                f"{minor_age} consents through a guardian or legal representative")
    unknown = set(purposes) - set(PURPOSES)
    if not purposes or unknown:
        raise ConsentRuleBroken(f"purposes must be among {', '.join(PURPOSES)}")
    if given_by != "person" and not (given_by_name or "").strip():
        raise ConsentRuleBroken("a consent given by a guardian or representative names them")
    if given_at > now:
        raise ConsentRuleBroken("a consent cannot be given in the future")
    if valid_until is not None and valid_until <= given_at:
        raise ConsentRuleBroken("the expiry must come after the date it was given")
    if method == "written" and not (evidence_ref or "").strip():
        raise ConsentRuleBroken("a written consent refers to its form (evidence_ref)")
    record = ConsentRecord(uuid.uuid4(), person_id, given_by, given_by_name,
                           tuple(dict.fromkeys(agencies)), tuple(dict.fromkeys(purposes)), method,
                           given_at, valid_until, evidence_ref, all_participating=all_participating,
                           participating_bodies=tuple(dict.fromkeys(participating_bodies))
                           if all_participating else ())
    return record, ConsentGranted(consent_id=record.id, person_id=person_id,
                                  agencies=record.agencies, purposes=record.purposes,
                                  valid_from=given_at, valid_until=valid_until,
                                  all_participating=all_participating,
                                  participating_bodies=record.participating_bodies)


def withdraw(record: ConsentRecord, at: datetime,
             only_for: tuple[str, ...] = ()) -> tuple[ConsentRecord, ConsentWithdrawn]:
    """In whole, or for the bodies in `only_for` (of its scope); withdrawing it for every body
    it names is withdrawing it in whole."""
    if record.withdrawn_at is not None:
        raise ConsentRuleBroken("this consent was already withdrawn")
    only = tuple(dict.fromkeys(only_for))
    outside = [b for b in only if b not in record.agencies and not record.all_participating]
    if outside:
        raise ConsentRuleBroken(f"this consent does not name {outside}: nothing to withdraw there")
    left = set(record.agencies) - set(record.withdrawn_for) - set(only)
    if only and (left or record.all_participating):
        withdrawn_for = tuple(dict.fromkeys((*record.withdrawn_for, *only)))
        return replace(record, withdrawn_for=withdrawn_for), ConsentWithdrawn(
            consent_id=record.id, person_id=record.person_id, withdrawn_at=at, only_for=only)
    return replace(record, withdrawn_at=at), ConsentWithdrawn(
        consent_id=record.id, person_id=record.person_id, withdrawn_at=at)


def expire(record: ConsentRecord, at: datetime) -> ConsentExpired | None:
    """The expiry announcement, once its date has passed (access already stops at that date)."""
    if record.valid_until is None or record.valid_until > at or record.withdrawn_at is not None:
        return None
    return ConsentExpired(consent_id=record.id, person_id=record.person_id,
                          expired_at=record.valid_until)
