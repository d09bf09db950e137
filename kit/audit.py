"""Writing, chaining and verifying the audit trail.

A write's audit record commits in the write's own transaction; a read's by kit/audit_writer.py,
in group commits.
A refusal is on record even though the request fails: `Denied` carries its record, and whoever
rolls back writes it afterwards. Records are chained: hash = sha256(previous hash + canonical
JSON). The chaining happens after commit (kit/migrations/0015_audit_chained_after_commit.sql): a
writer inserts its record unchained and queues it, taking no lock; `chain` (a periodic job of
every instance) links the committed records to the head in batches, under a transaction-scoped
advisory lock so concurrent chainers cannot fork the chain. `verify` checks the chain and
`unchained` names the records committed but not chained yet.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.envelope import Envelope
from kit.clock import now
from kit.db import PoolExhausted
from kit.policy import Action, Outcome
from kit.principal import Principal
from kit.problems import Problem
from kit.tracing import current_trace_id

GENESIS = "0" * 64
# Records in order, from their canonical JSON alone (one parameter, text[], for any number of
# records): inserted unchained (prev_hash and hash '') and queued for `chain`. Two CTEs, which a
# unit of work folds into its commit's one statement (kit/uow.py).
APPEND = """
_audit AS (
INSERT INTO audit_events (id, municipality, at, service, user_id, user_name, roles, agency, action,
    object_type, object_id, person_ids, purpose, outcome, reason, trace_id)
SELECT r.id, r.municipality, r.at, r.service, r.user_id, r.user_name, r.roles, r.agency, r.action,
    r.object_type, r.object_id, r.person_ids, r.purpose, r.outcome, r.reason, r.trace_id
FROM unnest($1::text[]) WITH ORDINALITY AS u(c, n),
     jsonb_populate_record(NULL::audit_events, c::jsonb) AS r
ORDER BY n
RETURNING seq),
_audit_queued AS (INSERT INTO audit_unchained (seq) SELECT seq FROM _audit)
"""
CHAIN_EVERY_SECONDS = 0.2
CHAIN_BATCH = 1000
_ANY_UNCHAINED = "SELECT EXISTS (SELECT FROM audit_unchained)"
# Chainers of several instances do not queue for the lock: the one holding it chains for all.
_CHAIN_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('tsunagu.audit'))"
# The records are read through audit_events's key (= ANY of an array): a join with the queue
# could be planned as a scan of the whole trail.
_TAKE = """
WITH taken AS (DELETE FROM audit_unchained
               WHERE seq IN (SELECT seq FROM audit_unchained ORDER BY seq LIMIT $1)
               RETURNING seq)
SELECT * FROM audit_events WHERE seq = ANY (ARRAY(SELECT seq FROM taken)) ORDER BY seq
"""
# The head: the last link, or (before the first link) the last record chained in audit_events
# itself (COALESCE reads the second only when the first is NULL).
_HEAD = """
SELECT coalesce((SELECT hash FROM audit_links ORDER BY pos DESC LIMIT 1),
                (SELECT hash FROM audit_events WHERE hash <> '' ORDER BY seq DESC LIMIT 1), $1)
"""
_LINK = """
INSERT INTO audit_links (seq, prev_hash, hash)
SELECT s, p, h FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS l(s, p, h, n)
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


# json.dumps with these options builds an encoder at every call: one, made once, encodes the same.
_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def canonical_json(row: dict[str, Any]) -> str:
    """The row's chained fields as canonical JSON (UTC times, sorted lists, sorted keys)."""
    return _ENCODE({k: _canonical(row[k]) for k in _CHAINED})


def _canonical(value: Any) -> Any:
    if value is None or type(value) is str:  # most fields: tested first (the chainer's hot path)
        return value
    if isinstance(value, datetime):  # PostgreSQL keeps microseconds: the round trip is exact
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, (list, tuple)):
        return sorted(str(v) for v in value)
    return str(value)


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
    """Append records in order, chained once the transaction has committed (`chain`); call
    inside a transaction."""
    if entries:
        await conn.execute(f"WITH {APPEND} SELECT", canonicals(entries))


def canonicals(entries: list[AuditEntry]) -> list[str]:
    """APPEND's parameter: each record's canonical JSON."""
    return [canonical_json(entry.row()) for entry in entries]


async def recent(conn: asyncpg.Connection, user_id: str, action: str, seconds: int) -> int:
    """How many permitted `action`s the user made in the last `seconds` (bounds searches)."""
    n: int = await conn.fetchval("SELECT count(*) FROM audit_events WHERE user_id = $1 AND action = $2 "
                                 "AND outcome = 'permitted' AND at > now() - make_interval(secs => $3)",
                                 user_id, action, seconds)
    return n


async def chain(conn: asyncpg.Connection, limit: int = CHAIN_BATCH) -> int:
    """Link up to `limit` committed unchained records to the chain's head, oldest first; how
    many (0 also while another chainer holds the chain). Each record's hash covers it as stored,
    as `verify` recomputes it."""
    async with conn.transaction():
        if not await conn.fetchval(_CHAIN_LOCK):
            return 0
        rows = await conn.fetch(_TAKE, limit)
        if not rows:
            return 0
        # Read after the lock, in a statement of its own (READ COMMITTED: a fresh snapshot), so
        # the links another chainer committed while this one waited are seen.
        prev = await conn.fetchval(_HEAD, GENESIS)
        seqs, prevs, hashes = [], [], []
        for r in rows:
            seqs.append(r["seq"])
            prevs.append(prev)
            prev = chain_hash(prev, dict(r))
            hashes.append(prev)
        await conn.execute(_LINK, seqs, prevs, hashes)
    return len(rows)


async def chain_committed(new_uow: Callable[[], Any]) -> None:
    """The periodic job "audit-chain" of every service: chain what has committed meanwhile.
    A starved pool (answered by /healthz) skips the round quietly: the records wait, committed."""
    try:
        async with new_uow().writing_at_commit() as uow:  # a pool connection, no transaction
            if await uow.conn.fetchval(_ANY_UNCHAINED):
                while await chain(uow.conn) == CHAIN_BATCH:
                    pass
    except PoolExhausted:
        return


async def verify(conn: asyncpg.Connection) -> list[int]:
    """The seq of every record whose hash or link does not hold (empty: the chain is intact).

    The chain: the records chained in audit_events itself (before migration 0015), in seq
    order, then audit_links in pos order, each link holding its record's prev_hash and hash.
    A record neither chained nor in the chainer's queue is broken too: the runtime role may
    delete from the queue (the chainer does), and a record taken off it would never be chained,
    nor seen by /readyz or the alert, which read the queue alone. In one snapshot every record
    not chained is queued: the chainer unqueues and links in one transaction."""
    broken: list[int] = []
    prev = GENESIS
    async with conn.transaction(isolation="repeatable_read"):  # one snapshot for both parts
        async for r in conn.cursor("SELECT * FROM audit_events WHERE hash <> '' ORDER BY seq"):
            row = dict(r)
            if row["prev_hash"] != prev or chain_hash(prev, row) != row["hash"]:
                broken.append(row["seq"])
            prev = row["hash"]
        async for r in conn.cursor(_LINKED):
            row = dict(r)
            if (row["id"] is None or row["link_prev"] != prev
                    or chain_hash(prev, row) != row["link_hash"]):
                broken.append(row["link_seq"])
            prev = row["link_hash"]
        broken += [r["seq"] for r in await conn.fetch(_OFF_THE_QUEUE)]
    return broken


_OFF_THE_QUEUE = """
SELECT e.seq FROM audit_events e
WHERE e.hash = '' AND NOT EXISTS (SELECT FROM audit_links l WHERE l.seq = e.seq)
  AND NOT EXISTS (SELECT FROM audit_unchained q WHERE q.seq = e.seq)
ORDER BY e.seq
"""
_LINKED = """
SELECT l.seq AS link_seq, l.prev_hash AS link_prev, l.hash AS link_hash, e.*
FROM audit_links l LEFT JOIN audit_events e ON e.seq = l.seq AND e.hash = ''
ORDER BY l.pos
"""


@dataclass(frozen=True)
class Unchained:
    """Records committed but not chained yet: normally what the chainer has not reached (a
    fraction of a second); an old one means no instance runs the chainer."""

    count: int
    oldest_seq: int | None
    oldest_age_seconds: float


UNCHAINED = """
SELECT count(*) AS n, min(e.seq) AS oldest,
       coalesce(extract(epoch FROM now() - min(e.at)), 0)::float8 AS age
FROM audit_events e
WHERE e.hash = '' AND NOT EXISTS (SELECT FROM audit_links l WHERE l.seq = e.seq)
"""


# The same from the chainer's queue alone (a few rows, not the whole trail), its age the lowest
# seq's: what /readyz and /metrics report (kit/ops.py).
QUEUED = """
SELECT n, oldest,
       coalesce(extract(epoch FROM now() - (SELECT at FROM audit_events WHERE seq = oldest)),
                0)::float8 AS age
FROM (SELECT count(*) AS n, min(seq) AS oldest FROM audit_unchained) queued
"""


async def unchained(conn: asyncpg.Connection) -> Unchained:
    """Every record committed and not in the chain (the verifier's count: a record missing from
    the chainer's queue too is counted)."""
    r = await conn.fetchrow(UNCHAINED)
    return Unchained(r["n"], r["oldest"], r["age"])


async def _main(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        total = await conn.fetchval("SELECT count(*) FROM audit_events")
        broken = await verify(conn)
        tail = await unchained(conn)
    finally:
        await conn.close()
    print(f"{total} audit records; " + ("chain intact" if not broken else
                                        f"BROKEN at seq {', '.join(map(str, broken[:20]))}"))
    if tail.count:
        print(f"{tail.count} committed records not chained yet (from seq {tail.oldest_seq}, "
              f"{tail.oldest_age_seconds:.1f} s old): chained by the running services' "
              f"audit-chain job; an old tail means none runs")
    return 1 if broken else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m kit.audit",
                                     description="Verify a service's audit hash chain.")
    parser.add_argument("service")
    args = parser.parse_args()
    from kit.settings import load_settings
    raise SystemExit(asyncio.run(_main(load_settings(args.service).database_url)))
