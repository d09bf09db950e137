"""What outreach's commands share: settings, where reports land, and the access facts.

Reports and alerts are held by the coordinators' office (DESK); a case by the office that
started it. Who may read or write a case is kit/policy.py's decision on `case_record`: its
holding office, and (reading only) the pledged members of a 支援会議 that tabled the person or
decided on the case. Everything before consent is 支援会議 material (confidential_106_6), so
neither a consent nor break-glass opens it.
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg

from contracts.taxonomy import COORDINATORS
from kit import views
from kit.access import Access
from kit.policy import Record
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

DESK = os.environ.get("OUTREACH_DESK_OFFICE", COORDINATORS)
THRESHOLD = int(os.environ.get("OUTREACH_SIGNAL_THRESHOLD", "3"))
WINDOW_DAYS = int(os.environ.get("OUTREACH_SIGNAL_WINDOW_DAYS", "30"))
FIRST_CONTACT_DAYS = int(os.environ.get("OUTREACH_FIRST_CONTACT_WORKING_DAYS", "5"))
GRACE_DAYS = int(os.environ.get("OUTREACH_CONTACT_GRACE_WORKING_DAYS", "1"))


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", type_="urn:tsunagu:problem:not-found")


def report_record(m: str) -> Record:
    return Record(municipality=m, holders=frozenset({DESK}), confidential_106_6=True)


async def case_record(conn: asyncpg.Connection, m: str, row: dict[str, Any]) -> Record:
    persons = frozenset({row["person_id"]} if row["person_id"] else set())
    tabled = await views.tabled_in(conn, [row["id"], *persons])
    return Record(municipality=m, holders=frozenset({row["office"]}), person_ids=persons,
                  meeting_ids=tabled | frozenset(row["meeting_ids"]), confidential_106_6=True)


async def at_desk(db: UnitOfWork | asyncpg.Connection, principal: Principal, access: Access,
                  action: Any, object_type: str, object_id: str | None, office: str = DESK) -> None:
    conn = db.conn if isinstance(db, UnitOfWork) else db
    offices = (await views.workplace_of(conn, principal.user_id)).offices
    await access.require(db, principal, principal.is_staff and office in offices, action,
                         object_type, object_id, f"{office} の職員だけが扱えます / only the staff of "
                         f"{office} may do this")


