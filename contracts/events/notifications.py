"""Events produced by notifications, on topic notifications.events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.bounds import Id, Instant
from contracts.envelope import EventData


class NotificationDelivered(EventData):
    """An item was put in a recipient's inbox, or sent by another channel: a webhook delivery
    accepted by a division's system (once per delivery id, its webhook-id), an e-mail accepted
    by the SMTP server (once per e-mail)."""

    notification_id: UUID  # the inbox item, the webhook delivery or the e-mail
    # A webhook's recipient is a division's system: "agency", its subscriber id (v1 has no
    # kind of its own for it; adding one would break the schema).
    recipient_kind: Literal["agency", "user"]
    recipient_id: Id  # the office, the user, or the webhook subscriber
    about_type: Id  # the event type that caused it
    about_id: UUID
    channel: Literal["inbox", "webhook", "email"]
    delivered_at: Instant


class WebhookDeliveryFailed(EventData):
    """One attempt to deliver an event to a division's system by webhook failed (it is retried
    with backoff until parked)."""

    delivery_id: UUID  # the webhook-id of every attempt of this delivery
    subscriber_id: UUID
    event_type: Id  # the type delivered
    attempt: int = Field(ge=1, le=10_000)
    status_code: int | None = Field(None, ge=100, le=599)  # None: no answer (timeout, refused)
    failed_at: Instant


class WebhookParked(EventData):
    """A delivery failed too often and waits in the dead-letter store for an operator's replay."""

    delivery_id: UUID
    subscriber_id: UUID
    event_type: Id
    failures: int = Field(ge=1, le=10_000)
    parked_at: Instant
