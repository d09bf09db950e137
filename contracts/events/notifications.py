"""Events produced by notifications, on topic notifications.events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from contracts.bounds import Id, Instant
from contracts.envelope import EventData


class NotificationDelivered(EventData):
    """An item was put in a recipient's inbox (or sent by another channel)."""

    notification_id: UUID
    recipient_kind: Literal["agency", "user"]
    recipient_id: Id
    about_type: Id  # the event type that caused it
    about_id: UUID
    channel: Literal["inbox", "webhook", "email"]
    delivered_at: Instant
