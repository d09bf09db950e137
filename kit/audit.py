"""Writing and verifying the audit trail.

A write's audit record commits in the write's own transaction; a read's by kit/audit_writer.py,
in group commits.
A refusal is on record even though the request fails: `Denied` carries its record, and whoever
rolls back writes it afterwards. Records are chained: hash = sha256(previous hash + canonical
JSON), taken under a transaction-scoped advisory lock so concurrent writers cannot fork the chain.
The chaining itself happens during COMMIT (kit/migrations/0012_audit_chained_at_commit.sql): a
record is written pending, with the canonical JSON made here, and the database links it to the
head and hashes it as the transaction commits, so the lock is never held across a round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.envelope import Envelope
from kit.clock import now
from kit.policy import Action, Outcome
from kit.principal import Principal
from kit.problems import Problem
from kit.tracing import current_trace_id

GENESIS = "0" * 64
# Records pending, in order (deferred triggers fire in the order rows were written), from their
# canonical JSON alone: one parameter (text[]) for any number of records, and each stored column
# is by construction the value its hash covers. A unit of work folds this into its commit's one
# statement (kit/uow.py).
PENDING = """
INSERT INTO audit_pending (id, municipality, at, service, user_id, user_name, roles, agency, action,
    object_type, object_id, person_ids, purpose, outcome, reason, trace_id, canonical)
SELECT r.id, r.municipality, r.at, r.service, r.user_id, r.user_name, r.roles, r.agency, r.action,
    r.object_type, r.object_id, r.person_ids, r.purpose, r.outcome, r.reason, r.trace_id, c
FROM unnest($1::text[]) WITH ORDINALITY AS u(c, n),
     jsonb_populate_record(NULL::audit_pending, c::jsonb) AS r
ORDER BY n
"""
_CHAINED = ("id", "municipality", "at", "service", "user_id", "user_name", "roles", "agency",
            "action", "object_type", "object_id", "person_ids", "purpose", "outcome", "reason",
            "trace_id")


@dataclass(frozen=True)
class AuditEntry:
    municipality: str
    at: datetime
    service: str
    principal: Principal
    action: Action
    object_type: str
    object_id: str | None
    outcome: Outcome
    reason: str
    purpose: str = "support"
    person_ids: tuple[uuid.UUID, ...] = ()
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    trace_id: str | None = field(default_factory=current_trace_id)

    def row(self) -> dict[str, Any]:
        p = self.principal
        return {"id": self.id, "municipality": self.municipality, "at": self.at,
                "service": self.service, "user_id": p.user_id, "user_name": p.name,
                "roles": sorted(p.roles), "agency": p.agency, "action": self.action,
                "object_type": self.object_type, "object_id": self.object_id,
                "person_ids": sorted(self.person_ids), "purpose": self.purpose,
                "outcome": self.outcome, "reason": self.reason, "trace_id": self.trace_id}


def chain_hash(prev: str, row: dict[str, Any]) -> str:
    """sha256 over the previous hash and the row's canonical JSON (as the database takes it at
    COMMIT: sha256 of the UTF-8 of prev || canonical)."""
    return hashlib.sha256((prev + canonical_json(row)).encode()).hexdigest()


def canonical_json(row: dict[str, Any]) -> str:
    """The row's chained fields as canonical JSON (UTC times, sorted lists, sorted keys)."""
    canonical = {k: _canonical(row[k]) for k in _CHAINED}
    return json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):  # PostgreSQL keeps microseconds: the round trip is exact
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, (list, tuple)):
        return sorted(str(v) for v in value)
    return None if value is None else str(value)


def by_event(service: str, envelope: Envelope, office: str, action: Action, object_type: str,
             object_id: str, person_ids: tuple[uuid.UUID, ...], reason: str) -> AuditEntry:
    """The record of a write an event made, no user asking (a hand-over opening a consultation):
    who is the producing service acting for `office`, with the event's id in the reason; its
    trace id is the event's, so it joins the producing service's record of the user's act."""
    source = envelope.source.removeprefix("/tsunagu/")
    actor = Principal(user_id=f"{source}:{office}", name=f"{source} (event)", agency=office,
                      roles=frozenset(), municipality=envelope.municipality)
    return AuditEntry(municipality=envelope.municipality, at=now(), service=service,
                      principal=actor, action=action, object_type=object_type,
                      object_id=object_id, outcome="permitted", person_ids=person_ids,
                      reason=f"{reason} (event {envelope.id})")


class Denied(Problem):
    """A refusal and its audit record: the record must outlive the rollback of the request's
    transaction, so the unit of work writes it after rolling back (or `append` does at once)."""

    def __init__(self, entry: AuditEntry, detail: str, status: int = 403,
                 headers: dict[str, str] | None = None) -> None:
        title, type_ = ("Forbidden", "forbidden") if status == 403 else ("Too many requests",
                                                                        "rate-limited")
        super().__init__(status, title, detail, type_=f"urn:tsunagu:problem:{type_}",
                         headers=headers)
        self.entry = entry


async def append(conn: asyncpg.Connection, entry: AuditEntry) -> None:
    """Append one record, in the connection's transaction if it has one, else in its own."""
    if conn.is_in_transaction():
        await write(conn, entry)
        return
    async with conn.transaction():
        await write(conn, entry)


async def write(conn: asyncpg.Connection, entry: AuditEntry) -> None:
    """Append one record; call inside a transaction (it is chained as that commits)."""
    await write_many(conn, [entry])


async def write_many(conn: asyncpg.Connection, entries: list[AuditEntry]) -> None:
    """Append records in order, each chained to the one before as the transaction commits
    (kit/migrations/0012_audit_chained_at_commit.sql); call inside a transaction."""
    if entries:
        await conn.execute(PENDING, canonicals(entries))


def canonicals(entries: list[AuditEntry]) -> list[str]:
    """PENDING's parameter: each record's canonical JSON."""
    return [canonical_json(entry.row()) for entry in entries]


async def recent(conn: asyncpg.Connection, user_id: str, action: str, seconds: int) -> int:
    """How many permitted `action`s the user made in the last `seconds` (bounds searches)."""
    n: int = await conn.fetchval("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = $2 "
                                 "AND outcome = 'permitted' AND at > now() - make_interval(secs => $3)",
                                 user_id, action, seconds)
    return n


async def verify(conn: asyncpg.Connection) -> list[int]:
    """The seq of every record whose hash or link does not hold (empty: the chain is intact)."""
    broken: list[int] = []
    prev = GENESIS
    async with conn.transaction():
        async for r in conn.cursor("SELECT * FROM audit_events ORDER BY seq"):
            row = dict(r)
            if row["prev_hash"] != prev or chain_hash(prev, row) != row["hash"]:
                broken.append(row["seq"])
            prev = row["hash"]
    return broken


async def _main(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        total = await conn.fetchval("SELECT count(*) FROM audit_events")
        broken = await verify(conn)
    finally:
        await conn.close()
    print(f"{total} audit records; " + ("chain intact" if not broken else
                                        f"BROKEN at seq {', '.join(map(str, broken[:20]))}"))
    return 1 if broken else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m kit.audit",
                                     description="Verify a service's audit hash chain.")
    parser.add_argument("service")
    args = parser.parse_args()
    from kit.settings import load_settings
    raise SystemExit(asyncio.run(_main(load_settings(args.service).database_url)))
