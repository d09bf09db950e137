"""Ranking candidate people for a new record. Pure: the database finds candidates (blocking on
the kana key, its one-typo neighbourhood, the kanji key, the birth date and the person number);
this module scores and explains them. A suggestion only: merging is a person's decision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from . import names


@dataclass(frozen=True)
class Probe:
    kana_key: str
    kanji_key: str
    birth_date: date | None = None
    address_key: str | None = None
    phone_key: str | None = None
    atena_number: str | None = None


@dataclass(frozen=True)
class Known:
    id: uuid.UUID
    kana_key: str
    kanji_key: str
    birth_date: date | None
    address_key: str | None
    phone_key: str | None
    atena_number: str | None


@dataclass(frozen=True)
class Candidate:
    person_id: uuid.UUID
    score: float
    reasons: tuple[str, ...]


def score(probe: Probe, known: Known) -> Candidate:
    """0..1. Weights: reading 0.45, written name 0.15, birth date 0.25, address 0.1, phone 0.05;
    a different birth date costs 0.3 (strong evidence of two people); the person number decides."""
    if probe.atena_number and known.atena_number:
        same = probe.atena_number == known.atena_number
        return Candidate(known.id, 1.0 if same else 0.0,
                         ("宛名番号が一致",) if same else ("宛名番号が異なる",))
    reasons: list[str] = []
    kana = names.kana_similarity(probe.kana_key, known.kana_key)
    total = 0.45 * kana
    if probe.kana_key == known.kana_key:
        reasons.append("フリガナ一致")
    elif kana > 0:
        reasons.append(f"フリガナ類似 ({kana:.2f})")
    if probe.kanji_key and probe.kanji_key == known.kanji_key:
        total += 0.15
        reasons.append("氏名一致（異体字を含む）")
    if probe.birth_date and known.birth_date:
        if probe.birth_date == known.birth_date:
            total += 0.25
            reasons.append("生年月日一致")
        else:
            total -= 0.3
            reasons.append("生年月日が異なる")
    if probe.address_key and probe.address_key == known.address_key:
        total += 0.1
        reasons.append("住所一致")
    if probe.phone_key and probe.phone_key == known.phone_key:
        total += 0.05
        reasons.append("電話番号一致")
    return Candidate(known.id, round(max(total, 0.0), 4), tuple(reasons))


# How alike two readings must be to count as the same name: one typo in a three-kana reading
# still passes (Dice 0.5); a shared first letter does not.
NAME_EVIDENCE = 0.5


def named(probe: Probe, known: Known) -> bool:
    """The name (or the person number) matches: without it nobody is suggested, so a birth date
    or an address alone never lists strangers (the register cannot be harvested by date)."""
    return bool((probe.atena_number and probe.atena_number == known.atena_number)
                or (probe.kanji_key and probe.kanji_key == known.kanji_key)
                or names.kana_similarity(probe.kana_key, known.kana_key) >= NAME_EVIDENCE)


def rank(probe: Probe, known: list[Known], limit: int = 5) -> list[Candidate]:
    scored = [score(probe, k) for k in known if named(probe, k)]
    return sorted((c for c in scored if c.score > 0), key=lambda c: (-c.score, str(c.person_id)))[:limit]
