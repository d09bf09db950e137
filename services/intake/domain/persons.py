"""People and households (名寄せ). Rules only; no I/O.

What a window typed is kept as typed; matching uses normalised keys beside it (names.py).
Two records become one only by an explicit, recorded merge, never automatically.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from contracts.events.intake import HouseholdChanged, PersonRegistered, PersonsMerged, PersonsUnmerged

from . import names

RELATIONS = ("self", "parent", "child", "spouse", "sibling", "grandparent", "grandchild", "carer",
             "other")


class PersonRuleBroken(ValueError):
    """A request that the rules about people and households refuse."""


@dataclass(frozen=True)
class Identity:
    """How a person was written down at a window."""

    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    birth_date: date | None = None
    sex: str | None = None
    address: str | None = None
    phone: str | None = None
    atena_number: str | None = None  # 宛名番号


@dataclass(frozen=True)
class MatchKeys:
    kana_key: str
    kanji_key: str
    kana_deletions: tuple[str, ...]
    address_key: str | None
    phone_key: str | None


def match_keys(identity: Identity) -> MatchKeys:
    kana = names.normalize_kana(identity.family_kana + identity.given_kana)
    return MatchKeys(
        kana_key=kana, kanji_key=names.normalize_kanji(identity.family_name + identity.given_name),
        kana_deletions=deletions(kana),
        address_key=names.normalize_address(identity.address) if identity.address else None,
        phone_key=names.normalize_phone(identity.phone) if identity.phone else None)


def deletions(key: str) -> tuple[str, ...]:
    """The key with each single character removed: two keys one typo apart share one of these
    (substitution, insertion, deletion and adjacent transposition), so an exact index lookup
    finds them without scanning (a deletion neighbourhood, as in SymSpell)."""
    return tuple(sorted({key[:i] + key[i + 1:] for i in range(len(key))})) if len(key) > 2 else ()


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    identity: Identity
    keys: MatchKeys
    registered_agency: str
    registered_by: str
    registered_at: datetime
    events: list[PersonRegistered] = field(default_factory=list, compare=False)


def register(identity: Identity, agency: str, user: str, at: datetime) -> Person:
    if not (identity.family_kana.strip() and identity.given_kana.strip()):
        raise PersonRuleBroken("the reading (フリガナ) of both family and given name is required: "
                               "matching relies on it")
    if not names.normalize_kana(identity.family_kana + identity.given_kana):
        raise PersonRuleBroken("the reading (フリガナ) must be written in kana")
    if identity.birth_date and identity.birth_date > at.date():
        raise PersonRuleBroken("the birth date is in the future")
    person = Person(uuid.uuid4(), identity, match_keys(identity), agency, user, at)
    person.events.append(PersonRegistered(person_id=person.id, registered_at=at,
                                         registered_agency=agency))
    return person


@dataclass(frozen=True)
class PersonState:
    id: uuid.UUID
    merged_into: uuid.UUID | None
    atena_number: str | None


def merge(surviving: PersonState, merged: PersonState, at: datetime) -> PersonsMerged:
    if surviving.id == merged.id:
        raise PersonRuleBroken("a person cannot be merged into themselves")
    if surviving.merged_into or merged.merged_into:
        raise PersonRuleBroken("one of these records is already merged into another")
    if surviving.atena_number and merged.atena_number and surviving.atena_number != merged.atena_number:
        raise PersonRuleBroken("the two records carry different person numbers (宛名番号): the "
                               "city's register says they are two people")
    return PersonsMerged(surviving_person_id=surviving.id, merged_person_id=merged.id, merged_at=at)


def unmerge(surviving: PersonState, restored: PersonState, at: datetime) -> PersonsUnmerged:
    if restored.merged_into != surviving.id:
        raise PersonRuleBroken("that record is not merged into this person")
    return PersonsUnmerged(surviving_person_id=surviving.id, restored_person_id=restored.id,
                           unmerged_at=at)


def household_changed(household_id: uuid.UUID, members: dict[uuid.UUID, str],
                      at: datetime) -> HouseholdChanged:
    bad = {r for r in members.values() if r not in RELATIONS}
    if bad:
        raise PersonRuleBroken(f"unknown relation {sorted(bad)}; use one of {', '.join(RELATIONS)}")
    return HouseholdChanged(household_id=household_id, member_ids=tuple(members), changed_at=at)
