"""The facts the access policy needs about intake's records."""

from __future__ import annotations

from typing import Any

import asyncpg

from kit import holders, views
from kit.policy import HEALTH, Record
from kit.problems import Problem

from ..store import persons as person_store


async def consultation(conn: asyncpg.Connection, row: dict[str, Any], municipality: str) -> Record:
    person_ids = list(row["person_ids"])
    return Record(
        municipality=municipality,
        holders=holders.of_consultation(row["receiving_division"], row["destination_kind"],
                                        row["destination_agency"]),
        person_ids=frozenset(person_ids),
        meeting_ids=await views.tabled_in(conn, [row["id"], *person_ids]),
        field_classes=frozenset({HEALTH}) if row.get("health_notes") else frozenset())


async def person(conn: asyncpg.Connection, row: dict[str, Any], municipality: str) -> Record:
    """Held by the window that registered the person, the windows they came to themselves and
    the offices their case was handed to (kit/holders.py), including through records merged
    into this one. Naming someone on one's own consultation makes nobody their holder."""
    ids = [row["id"], *await person_store.merged_into_it(conn, row["id"])]
    held = {row["registered_agency"]}
    for division, kind, agency, present in await person_store.consultation_holders(conn, ids):
        held |= holders.of_person_on(division, kind, agency, present)  # type: ignore[arg-type]
    return Record(municipality=municipality, holders=frozenset(held),
                  person_ids=frozenset({row["id"]}), meeting_ids=await views.tabled_in(conn, ids))


def household(row: dict[str, Any], municipality: str) -> Record:
    """Written by the office that created it; its members' own records decide who reads them."""
    return Record(municipality=municipality,
                  holders=frozenset({row["created_agency"]} if row.get("created_agency") else ()),
                  person_ids=frozenset(m["person_id"] for m in row.get("members", ())))


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", type_="urn:tsunagu:problem:not-found")
