"""The one call a route makes before it returns personal data: decide, audit, refuse or redact.

    decision = await access.check(request, principal, record, "read", "consultation", str(id))

Every decision is audited, denials included. A break-glass access is also announced as a
BreakGlassAccessed event (in the same transaction as its audit record) for the auditors.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import unquote

import asyncpg
from fastapi import Depends, Request

from contracts.events.access import BreakGlassAccessed
from kit import audit, outbox, views
from kit.clock import now
from kit.policy import Action, Decision, Record, decide
from kit.policy import Request as PolicyRequest
from kit.principal import Principal
from kit.problems import Problem
from kit.settings import ServiceSettings

BREAK_GLASS_HEADER = "x-break-glass-reason"


class Access:
    def __init__(self, pool: asyncpg.Pool, settings: ServiceSettings) -> None:
        self.pool = pool
        self.settings = settings

    async def check(self, request: Request, principal: Principal, record: Record, action: Action,
                    object_type: str, object_id: str | None, purpose: str = "support") -> Decision:
        at = now()
        async with self.pool.acquire() as conn:
            consents = await views.consents_for(conn, record.person_ids)
            member_of = await views.meetings_of(conn, principal.user_id)
        # Headers are ASCII: the reason comes percent-encoded (UTF-8), so it can be Japanese.
        raw = request.headers.get(BREAK_GLASS_HEADER)
        glass = unquote(raw) if raw is not None else None
        decision = decide(PolicyRequest(principal, action, at, consents, member_of, glass, purpose),
                          record)
        entry = audit.AuditEntry(
            municipality=self.settings.municipality_code, at=at, service=self.settings.service,
            principal=principal, action=action, object_type=object_type, object_id=object_id,
            outcome=decision.outcome, purpose=purpose, person_ids=tuple(record.person_ids),
            reason=decision.reason + (f" — {glass}" if decision.outcome == "break-glass" else ""))
        await self.record(entry, glass if decision.outcome == "break-glass" else None)
        if not decision.permitted:
            raise Problem(403, "Forbidden", f"{decision.reason}. In an emergency, state a reason in "
                          "the X-Break-Glass-Reason header (percent-encoded UTF-8): the access is "
                          "then allowed and reported to the auditors.",
                          type_="urn:tsunagu:problem:forbidden")
        return decision

    async def audit_only(self, principal: Principal, action: Action, object_type: str,
                         object_id: str | None, person_ids: tuple[uuid.UUID, ...] = (),
                         reason: str = "permitted by role", purpose: str = "support") -> None:
        """For accesses decided outside the record policy (writes, searches, the audit trail)."""
        await self.record(audit.AuditEntry(
            municipality=self.settings.municipality_code, at=now(), service=self.settings.service,
            principal=principal, action=action, object_type=object_type, object_id=object_id,
            outcome="permitted", reason=reason, purpose=purpose, person_ids=person_ids))

    async def record(self, entry: audit.AuditEntry, break_glass_reason: str | None = None) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await audit.write(conn, entry)
            if break_glass_reason is not None:
                await outbox.write(conn, [BreakGlassAccessed(
                    audit_id=entry.id, service=entry.service, user_id=entry.principal.user_id,
                    agency=entry.principal.agency, object_type=entry.object_type,
                    object_id=entry.object_id or "", reason=break_glass_reason,
                    accessed_at=entry.at)], self.settings.service, self.settings.municipality_code)


def redact(body: dict[str, Any], decision: Decision, fields: dict[str, str]) -> dict[str, Any]:
    """Remove the fields whose protected class the decision hides (`fields`: name -> class)."""
    return {k: (None if fields.get(k) in decision.hidden else v) for k, v in body.items()}


def _access(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


AccessDep = Annotated[Access, Depends(_access)]
