"""What a message says, by the rules. No I/O.

A message carries a title, the kind of event and a link to the record; its body only ids,
codes and labels. The recipient opens the record under the access policy, which decides what
they may see. Of a 支援会議 (an event labelled confidential-106-6) a message says only that the
meeting has an item, and links to the meeting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import Envelope, EventData
from contracts.events.notifications import NotificationDelivered
from contracts.taxonomy import category_label

from .rules import RecipientKind, Rule

AUDITORS = "audit"  # the auditors' office inbox
CONFIDENTIAL = "confidential-106-6"
URGENCY_LABELS = {"low": "低", "normal": "通常", "high": "高", "emergency": "緊急"}
DESTINATION_LABELS = {"agency": "支援関係機関", "promoter": "断らない相談窓口推進員",
                      "general_desk": "福祉総合相談窓口", "coordinator": "地域福祉コーディネーター"}
SUPPORT_MEETING_TITLE = "支援会議に案件があります"
SUPPORT_MEETING_BODY = "詳細は会議の画面でご確認ください。"
CONFIDENTIAL_ITEM_TITLE = "確認が必要な案件があります"
CONFIDENTIAL_ITEM_BODY = "詳細は記録の画面でご確認ください。"


@dataclass(frozen=True)
class Message:
    """What every recipient of one event is told (the same for each)."""

    kind: str  # the event type
    event_id: uuid.UUID  # the envelope id: one item per recipient per event
    about_id: uuid.UUID
    title: str
    body: str
    link: str
    urgency: str
    created_at: datetime


@dataclass(frozen=True)
class InboxItem:
    id: uuid.UUID
    recipient_kind: RecipientKind
    recipient_id: str
    message: Message

    def delivered(self, channel: str = "inbox") -> NotificationDelivered:
        return NotificationDelivered(
            notification_id=self.id, recipient_kind="user" if self.recipient_kind == "user" else "agency",
            recipient_id=self.recipient_id, about_type=self.message.kind,
            about_id=self.message.about_id, channel=channel,  # type: ignore[arg-type]
            delivered_at=self.message.created_at)


def message(rule: Rule, event: EventData, envelope: Envelope, at: datetime) -> Message:
    fields: dict[str, Any] = dict(event)
    urgency = rule.urgency or str(fields.get(rule.urgency_field or "", "normal"))
    about = fields[rule.about]
    if envelope.sensitivity == CONFIDENTIAL and "meeting_id" not in fields:
        # 支援会議 material held outside a meeting (outreach before consent): "you have an item",
        # linking to the record by its id, where the reader's rights decide what it shows.
        return Message(rule.event_type, envelope.id, about, CONFIDENTIAL_ITEM_TITLE,
                       CONFIDENTIAL_ITEM_BODY, rule.link.format(**fields), urgency, at)
    if envelope.sensitivity == CONFIDENTIAL:
        meeting = fields["meeting_id"]
        return Message(rule.event_type, envelope.id, meeting, SUPPORT_MEETING_TITLE,
                       SUPPORT_MEETING_BODY, f"/meetings/{meeting}", urgency, at)
    fields.update(_derived(fields, urgency))
    return Message(rule.event_type, envelope.id, about, rule.title.format(**fields),
                   rule.body.format(**fields), rule.link.format(**fields), urgency, at)


def items(msg: Message, recipients: list[tuple[RecipientKind, str]]) -> list[InboxItem]:
    # Deterministic ids: a redelivered event names the same items (one per recipient).
    return [InboxItem(uuid.uuid5(msg.event_id, f"{kind}:{rid}"), kind, rid, msg)
            for kind, rid in dict.fromkeys(recipients)]


def _derived(fields: dict[str, Any], urgency: str) -> dict[str, str]:
    categories = fields.get("categories") or ()
    return {"urgency_label": URGENCY_LABELS.get(urgency, urgency),
            "destination_label": DESTINATION_LABELS.get(str(fields.get("destination_kind")), ""),
            "categories_label": "、".join(category_label(c) for c in categories) or "未分類"}
