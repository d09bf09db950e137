"""Cross-cutting access events, on topic access.events (produced by every service)."""

from __future__ import annotations

from uuid import UUID

from contracts.bounds import Id, Instant, Reason, Ref
from contracts.envelope import EventData


class BreakGlassAccessed(EventData):
    """A user opened a record outside their rights, stating a reason: reported to auditors."""

    audit_id: UUID
    service: Id
    user_id: Id
    agency: Id
    object_type: Id
    object_id: Ref
    reason: Reason
    accessed_at: Instant
