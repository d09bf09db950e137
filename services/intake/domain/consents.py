"""Consent to share (個人情報共有の同意). Rules only; no I/O.

Who gave it (the person, a guardian or a representative), its scope (agencies, purposes),
method, date and optional expiry. Immutable once given: a change is a new consent; withdrawal
is possible at any time and takes effect from that moment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contracts.events.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn
from kit.policy import ALL_AGENCIES, Consent

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

    def as_policy(self) -> Consent:
        return Consent(self.person_id, frozenset(self.agencies), frozenset(self.purposes),
                       self.given_at, self.valid_until, self.withdrawn_at)


def give(person_id: uuid.UUID, given_by: GivenBy, given_by_name: str | None,
         agencies: tuple[str, ...], purposes: tuple[str, ...], method: Method, given_at: datetime,
         valid_until: datetime | None, evidence_ref: str | None,
         now: datetime) -> tuple[ConsentRecord, ConsentGranted]:
    if not agencies:
        raise ConsentRuleBroken(f"name the agencies it covers, or '{ALL_AGENCIES}' for every one")
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
                           given_at, valid_until, evidence_ref)
    return record, ConsentGranted(consent_id=record.id, person_id=person_id,
                                  agencies=record.agencies, purposes=record.purposes,
                                  valid_from=given_at, valid_until=valid_until)


def withdraw(record: ConsentRecord, at: datetime) -> ConsentWithdrawn:
    if record.withdrawn_at is not None:
        raise ConsentRuleBroken("this consent was already withdrawn")
    return ConsentWithdrawn(consent_id=record.id, person_id=record.person_id, withdrawn_at=at)


def expire(record: ConsentRecord, at: datetime) -> ConsentExpired | None:
    """The expiry announcement, once its date has passed (access already stops at that date)."""
    if record.valid_until is None or record.valid_until > at or record.withdrawn_at is not None:
        return None
    return ConsentExpired(consent_id=record.id, person_id=record.person_id,
                          expired_at=record.valid_until)
