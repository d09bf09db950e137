"""Cross-cutting access events, on topic access.events (produced by every service)."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime

from contracts.envelope import EventData


class BreakGlassAccessed(EventData):
    """A user opened a record outside their rights, stating a reason: reported to auditors."""

    audit_id: UUID
    service: str
    user_id: str
    agency: str
    object_type: str
    object_id: str
    reason: str
    accessed_at: AwareDatetime
