"""The auditor's view of a service's trail: query by person, user, outcome and period; export."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel

from contracts.bounds import Instant
from kit.access import AccessDep
from kit.api import ConnDep
from kit.auth import PrincipalDep

router = APIRouter(tags=["監査 audit"])
_SELECT = """
SELECT seq, id, at, service, user_id, user_name, roles, agency, action, object_type, object_id,
       person_ids, purpose, outcome, reason, trace_id,
       -- chained in the record itself (before kit migration 0015) or by its link; NULL: not yet
       coalesce(nullif(hash, ''), (SELECT l.hash FROM audit_links l WHERE l.seq = e.seq)) AS hash
FROM audit_events e
WHERE ($1::uuid IS NULL OR $1 = ANY(person_ids)) AND ($2::text IS NULL OR user_id = $2)
  AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
  AND ($5::text IS NULL OR outcome = $5)
ORDER BY seq LIMIT $6
"""


class AuditRecord(BaseModel):
    seq: int
    id: uuid.UUID
    at: AwareDatetime
    service: str
    user_id: str
    user_name: str
    roles: list[str]
    agency: str
    action: str
    object_type: str
    object_id: str | None
    person_ids: list[uuid.UUID]
    purpose: str
    outcome: str
    reason: str
    trace_id: str | None
    hash: str | None  # None: committed, not chained yet (kit/audit.py chain)


_AUDITORS_ONLY = "監査証跡は監査担当だけが見られます / the audit trail is for the auditor role"


def _filters(person_id: uuid.UUID | None, user_id: str | None, since: datetime | None,
             until: datetime | None, outcome: str | None) -> dict[str, Any]:
    return {k: str(v) for k, v in {"person_id": person_id, "user_id": user_id, "since": since,
                                   "until": until, "outcome": outcome}.items() if v is not None}


@router.get("/audit", response_model=list[AuditRecord], summary="監査証跡の照会 (auditors)")
async def query(principal: PrincipalDep, access: AccessDep, conn: ConnDep,
                person_id: uuid.UUID | None = None,
                user_id: str | None = Query(None, max_length=100),
                since: Instant | None = None, until: Instant | None = None,
                outcome: str | None = Query(None, pattern="^(permitted|denied|break-glass)$"),
                limit: int = Query(100, ge=1, le=1000)) -> list[AuditRecord]:
    await access.require(conn, principal, principal.has("auditor"), "read", "audit_trail", None,
                         _AUDITORS_ONLY)
    rows = await conn.fetch(_SELECT, person_id, user_id, since, until, outcome, limit)
    await access.audit_only(conn, principal, "read", "audit_trail",
                            json.dumps(_filters(person_id, user_id, since, until, outcome)),
                            purpose="audit")
    return [AuditRecord.model_validate(dict(r)) for r in rows]


@router.get("/audit/export", summary="監査証跡の書き出し (NDJSON, auditors)")
async def export(principal: PrincipalDep, access: AccessDep, conn: ConnDep,
                 person_id: uuid.UUID | None = None,
                 user_id: str | None = Query(None, max_length=100),
                 since: Instant | None = None, until: Instant | None = None,
                 outcome: str | None = Query(None, pattern="^(permitted|denied|break-glass)$")
                 ) -> StreamingResponse:
    await access.require(conn, principal, principal.has("auditor"), "export", "audit_trail", None,
                         _AUDITORS_ONLY)
    rows = await conn.fetch(_SELECT, person_id, user_id, since, until, outcome, 1_000_000)
    await access.audit_only(conn, principal, "export", "audit_trail",
                            json.dumps(_filters(person_id, user_id, since, until, outcome)),
                            purpose="audit")

    async def lines() -> AsyncIterator[bytes]:
        for r in rows:
            yield (AuditRecord.model_validate(dict(r)).model_dump_json() + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"content-disposition": "attachment; filename=audit.ndjson"})
