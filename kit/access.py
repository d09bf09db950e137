"""The one call a route makes before it returns or changes personal data: decide, audit,
refuse or redact.

    decision = await access.check(conn_or_uow, request, principal, record, "read", "consultation", id)

Everything runs on the caller's own database connection (never a second one from the pool:
a request holding one connection while waiting for another deadlocks the pool under load).
Inside a unit of work the audit record commits with the write; a read's is committed before it
answers, by the audit writer (kit/audit_writer.py: group commits on its own connection). Every
decision is audited, denials included. A break-glass access is also announced as a
BreakGlassAccessed event, in the same transaction as its audit record, for the auditors.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeAlias
from urllib.parse import unquote

import asyncpg
from fastapi import Depends, Request
from pydantic import TypeAdapter, ValidationError

from contracts.bounds import Reason
from contracts.envelope import EventData
from contracts.events.access import BreakGlassAccessed
from kit import audit, outbox, views
from kit.audit_writer import AuditWriter
from kit.clock import now
from kit.policy import Action, Decision, Outcome, Record, decide
from kit.policy import Request as PolicyRequest
from kit.principal import Principal
from kit.problems import Problem
from kit.settings import ServiceSettings
from kit.uow import UnitOfWork

BREAK_GLASS_HEADER = "x-break-glass-reason"
_REASON: TypeAdapter[str] = TypeAdapter(Reason)
Db: TypeAlias = asyncpg.Connection | UnitOfWork  # a read's connection, or a write's unit of work


class Access:
    def __init__(self, settings: ServiceSettings, writer: AuditWriter | None = None) -> None:
        self.settings = settings
        self.writer = writer  # reads' records in group commits; without it, on the read's connection

    async def check(self, db: Db, request: Request, principal: Principal, record: Record,
                    action: Action, object_type: str, object_id: str | None,
                    purpose: str = "support") -> Decision:
        # Headers are ASCII: the reason comes percent-encoded (UTF-8), so it can be Japanese.
        raw = request.headers.get(BREAK_GLASS_HEADER)
        glass = _reason(unquote(raw)) if raw is not None else None
        at = now()
        decision = await self.decision(db, principal, record, action, glass, purpose, at)
        entry = self.entry(principal, action, object_type, object_id, decision.outcome,
                           decision.reason + (f" — {glass}" if decision.outcome == "break-glass" else ""),
                           tuple(record.person_ids), purpose, at)
        if not decision.permitted:
            await self.refuse(db, entry, decision.reason + (_GLASS_HINT if action == "read" else ""))
        await self._record(db, entry, glass if decision.outcome == "break-glass" else None)
        return decision

    async def decision(self, db: Db, principal: Principal, record: Record, action: Action,
                       break_glass_reason: str | None = None, purpose: str = "support",
                       at: Any = None) -> Decision:
        """The policy's decision on the facts the views hold, neither audited nor enforced: for
        `check`, and for what a response may say beside an access already checked (e.g. whether
        the user holds a household, and so may be told how much of it is hidden)."""
        conn = db.conn if isinstance(db, UnitOfWork) else db
        consents = await views.consents_for(conn, record.person_ids)
        member_of = await views.meetings_of(conn, principal.user_id)
        place = await views.workplace_of(conn, principal.user_id)
        return decide(PolicyRequest(principal, action, at or now(), consents, member_of,
                                    break_glass_reason, purpose, place), record)

    async def audit_only(self, db: Db, principal: Principal, action: Action, object_type: str,
                         object_id: str | None, person_ids: tuple[uuid.UUID, ...] = (),
                         reason: str = "permitted by role", purpose: str = "support") -> None:
        """For accesses decided outside the record policy (writes, searches, the audit trail)."""
        await self._record(db, self.entry(principal, action, object_type, object_id, "permitted",
                                          reason, person_ids, purpose))

    async def require(self, db: Db, principal: Principal, allowed: bool, action: Action,
                      object_type: str, object_id: str | None, detail: str) -> None:
        """A decision taken on the user's role or office rather than on a record (staff only, the
        auditors' trail, one's own office's list): a refusal is audited like any other."""
        if not allowed:
            await self.refuse(db, self.entry(principal, action, object_type, object_id, "denied",
                                             detail), detail)

    async def staff_only(self, db: Db, principal: Principal, action: Action, object_type: str,
                         object_id: str | None = None) -> None:
        await self.require(db, principal, principal.is_staff, action, object_type, object_id,
                           STAFF_ONLY)

    async def throttle(self, uow: UnitOfWork, principal: Principal, action: Action,
                       object_type: str, limit: int, seconds: int) -> None:
        """At most `limit` permitted `action`s per user in `seconds`, counted and recorded in one
        step: the user's advisory lock is held until the unit of work ends, and the action's own
        audit record commits in it, so concurrent requests cannot all pass one count."""
        await uow.conn.execute("SELECT pg_advisory_xact_lock(hashtext('tsunagu.rate'), hashtext($1))",
                               principal.user_id)
        if await audit.recent(uow.conn, principal.user_id, action, seconds) >= limit:
            detail = (f"検索は1分あたり{limit}回までです。しばらく待ってから再度お試しください / at most "
                      f"{limit} a minute per user: try again in a minute")
            raise audit.Denied(self.entry(principal, action, object_type, None, "denied", detail),
                               detail, status=429, headers={"Retry-After": str(seconds)})

    async def refuse(self, db: Db, entry: audit.AuditEntry, detail: str) -> None:
        """Raise the refusal; it is on record whether or not the caller's transaction survives."""
        if isinstance(db, asyncpg.Connection):
            await self._append(db, entry, [])
        raise audit.Denied(entry, detail)  # a unit of work writes it after its rollback

    def entry(self, principal: Principal, action: Action, object_type: str, object_id: str | None,
              outcome: Outcome, reason: str, person_ids: tuple[uuid.UUID, ...] = (),
              purpose: str = "support", at: Any = None) -> audit.AuditEntry:
        return audit.AuditEntry(
            municipality=self.settings.municipality_code, at=at or now(),
            service=self.settings.service, principal=principal, action=action,
            object_type=object_type, object_id=object_id, outcome=outcome, purpose=purpose,
            person_ids=person_ids, reason=reason)

    async def _record(self, db: Db, entry: audit.AuditEntry,
                      break_glass_reason: str | None = None) -> None:
        events: list[EventData] = [] if break_glass_reason is None else [BreakGlassAccessed(
            audit_id=entry.id, service=entry.service, user_id=entry.principal.user_id,
            agency=entry.principal.agency, object_type=entry.object_type,
            object_id=entry.object_id or "", reason=break_glass_reason, accessed_at=entry.at)]
        if isinstance(db, UnitOfWork):  # commits with the write, or not at all
            db.audit(entry)
            db.record(*events)
            return
        await self._append(db, entry, events)

    async def _append(self, conn: asyncpg.Connection, entry: audit.AuditEntry,
                      events: list[EventData]) -> None:
        """A read's record (and its events), committed before the read answers."""
        rows = outbox.rows_for(events, self.settings.service, self.settings.municipality_code)
        if self.writer is not None:
            await self.writer.write(entry, rows)
            return
        async with conn.transaction():
            await audit.write(conn, entry)
            await outbox.write_rows(conn, rows)


def _reason(text: str) -> str:
    """The break-glass reason goes into the audit trail and an event: bounded like any reason."""
    try:
        return _REASON.validate_python(text)
    except ValidationError:
        raise Problem(422, "Invalid break-glass reason", f"the {BREAK_GLASS_HEADER} header must "
                      "hold at most 2000 characters and no NUL") from None


STAFF_ONLY = ("支援に携わる職員（窓口・推進員・コーディネーター・支援関係機関）のための機能です。民生委員は"
              "気づきの連絡を、監査は監査証跡を、運用者はメトリクスを使ってください / this is for support "
              "staff; partners report concerns, auditors read the audit trail, operators read metrics")
_GLASS_HINT = (" 緊急時は X-Break-Glass-Reason ヘッダー（UTF-8 をパーセントエンコード）に理由を"
               "書けば閲覧でき、監査担当に報告されます / In an emergency, state a reason in the "
               "X-Break-Glass-Reason header (percent-encoded UTF-8): reading is then allowed and "
               "reported to the auditors.")


def redact(body: dict[str, Any], decision: Decision, fields: dict[str, str]) -> dict[str, Any]:
    """Remove the fields whose protected class the decision hides (`fields`: name -> class)."""
    return {k: (None if fields.get(k) in decision.hidden else v) for k, v in body.items()}


async def _access(request: Request) -> Access:  # async: FastAPI runs a plain def in a thread
    access: Access = request.app.state.access
    return access


AccessDep = Annotated[Access, Depends(_access)]
