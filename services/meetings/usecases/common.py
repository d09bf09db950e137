"""What every use case of meetings needs: the meeting, its chair, the consent check of a
重層的支援会議, and the problems a refusal becomes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg

from kit import views
from kit.access import Access
from kit.policy import Workplace
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from .. import domain
from ..store import meetings as store


async def meeting(conn: asyncpg.Connection, meeting_id: uuid.UUID, municipality: str) -> dict[str, Any]:
    found = await store.get(conn, meeting_id, municipality)
    if found is None:
        raise Problem(404, "Meeting not found", type_="urn:tsunagu:problem:not-found")
    return found


def refused(exc: domain.MeetingRuleBroken) -> Problem:
    return Problem(422, "Refused by the meeting rules", str(exc))


async def chair_only(uow: UnitOfWork, access: Access, principal: Principal, meeting: dict[str, Any],
                     object_type: str, detail: str = "") -> None:
    """Only the meeting's chair (the coordinator who scheduled it) acts here: refused on record."""
    await access.require(uow, principal, principal.user_id == meeting["created_by"], "write",
                         object_type, str(meeting["id"]), detail or CHAIR_ONLY)


async def places(conn: asyncpg.Connection, users: Iterable[str]) -> dict[str, Workplace]:
    """Where each of these users acts, as the directory view says."""
    return {user: await views.workplace_of(conn, user) for user in users}


async def covered(uow: UnitOfWork, access: Access, principal: Principal, meeting_id: uuid.UUID,
                  object_type: str, persons: frozenset[uuid.UUID] | list[uuid.UUID],
                  users: Iterable[str], at: Any) -> None:
    """A 重層的支援会議 shares only what consent covers: refuse (on record) where the consent of
    these persons does not cover each of these users' agencies."""
    gaps = domain.uncovered(persons, await places(uow.conn, users),
                            await views.consents_for(uow.conn, persons), at)
    if gaps:
        detail = domain.uncovered_message(gaps)
        await access.refuse(uow, access.entry(principal, "disclose", object_type, str(meeting_id),
                                              "denied", detail, tuple(persons), "meeting"), detail)


async def persons_of_items(conn: asyncpg.Connection, items: list[dict[str, Any]]
                           ) -> list[frozenset[uuid.UUID]]:
    """The persons each item concerns: named, or through a tabled consultation (as known)."""
    persons_of = await store.persons_of(conn, [c for i in items for c in i["consultation_ids"]])
    return [frozenset(i["person_ids"]).union(*(persons_of.get(c, frozenset())
                                               for c in i["consultation_ids"])) for i in items]


CHAIR_ONLY = ("この操作ができるのはこの会議の議長（設定したコーディネーター）だけです。議長に依頼して"
              "ください / only the meeting's chair (the coordinator who scheduled it) does this: ask them")
