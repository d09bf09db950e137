"""Everyone hears what concerns them. Rules only; no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from contracts.events.access import BreakGlassAccessed
from contracts.events.notifications import NotificationDelivered
from contracts.events.referral import ReferralRequested
from contracts.taxonomy import category_label

AUDITORS = "audit"  # the auditors' office inbox
URGENCY_LABELS = {"low": "低", "normal": "通常", "high": "高", "emergency": "緊急"}
DESTINATION_LABELS = {"agency": "支援関係機関", "promoter": "断らない相談窓口推進員",
                      "general_desk": "福祉総合相談窓口", "coordinator": "地域福祉コーディネーター"}


@dataclass(frozen=True)
class InboxItem:
    id: uuid.UUID
    recipient_id: str  # an agency or office
    about_type: str
    about_id: uuid.UUID
    title: str
    body: str
    urgency: str
    created_at: datetime
    events: list[NotificationDelivered] = field(default_factory=list, compare=False)


def for_referral(event: ReferralRequested, at: datetime) -> InboxItem:
    """A new routing task for an office: say what kind and how urgent, not who (no personal
    data in the inbox; the recipient opens the referral under the access policy)."""
    label = DESTINATION_LABELS.get(event.destination_kind, event.destination_kind)
    item = InboxItem(
        id=uuid.uuid4(), recipient_id=event.to_agency, about_type="ReferralRequested",
        about_id=event.referral_id,
        title=f"新しいつなぎ依頼（緊急度: {URGENCY_LABELS[event.urgency]}）",
        body=f"{label}あての相談が届きました。分野: "
             f"{'、'.join(category_label(c) for c in event.categories) or '未分類'}",
        urgency=event.urgency, created_at=at)
    item.events.append(NotificationDelivered(
        notification_id=item.id, recipient_kind="agency", recipient_id=item.recipient_id,
        about_type=item.about_type, about_id=item.about_id, channel="inbox", delivered_at=at))
    return item


def for_break_glass(event: BreakGlassAccessed, at: datetime) -> InboxItem:
    """Every break-glass access reaches the auditors, with who, where and the stated reason."""
    item = InboxItem(
        id=uuid.uuid4(), recipient_id=AUDITORS, about_type="BreakGlassAccessed",
        about_id=event.audit_id, title="緊急閲覧（ブレークグラス）が行われました",
        body=f"{event.user_id}（{event.agency}）が {event.service} の {event.object_type} "
             f"{event.object_id} を閲覧。理由: {event.reason}",
        urgency="high", created_at=at)
    item.events.append(NotificationDelivered(
        notification_id=item.id, recipient_kind="agency", recipient_id=AUDITORS,
        about_type=item.about_type, about_id=item.about_id, channel="inbox", delivered_at=at))
    return item
