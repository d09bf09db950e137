"""The facts the access policy needs about intake's records."""

from __future__ import annotations

from typing import Any

import asyncpg

from kit import views
from kit.policy import HEALTH, Record
from kit.problems import Problem

from ..domain.consultations import holders_of
from ..store import persons as person_store


async def consultation(conn: asyncpg.Connection, row: dict[str, Any], municipality: str) -> Record:
    person_ids = list(row["person_ids"])
    return Record(
        municipality=municipality,
        holders=holders_of(row["receiving_division"], row["destination_kind"], row["destination_agency"]),
        person_ids=frozenset(person_ids),
        meeting_ids=await views.tabled_in(conn, [row["id"], *person_ids]),
        field_classes=frozenset({HEALTH}) if row.get("health_notes") else frozenset())


async def person(conn: asyncpg.Connection, row: dict[str, Any], municipality: str) -> Record:
    """Held by whoever registered the person and whoever holds a consultation about them
    (including consultations of records merged into this one)."""
    ids = [row["id"], *await person_store.merged_into_it(conn, row["id"])]
    holders = {row["registered_agency"]}
    for division, kind, agency in await person_store.consultation_holders(conn, ids):
        holders |= holders_of(division, kind, agency)  # type: ignore[arg-type]
    return Record(municipality=municipality, holders=frozenset(holders),
                  person_ids=frozenset({row["id"]}), meeting_ids=await views.tabled_in(conn, ids))


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", type_="urn:tsunagu:problem:not-found")
