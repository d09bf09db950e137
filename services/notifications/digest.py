"""The daily digest: on the city's working days, once a day from `digest_hour` (JST), each user
who asked for it gets one e-mail counting their unread items (their own and their offices'),
by kind. Counts and kinds only: the items are read in tsunagu. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime

from kit.workdays import JST, is_working_day, local_date

from .domain import Message


def due(at: datetime, hour: float) -> date | None:
    """Today's date (JST) if a digest is due today at `at`, else None."""
    local = at.astimezone(JST)
    if not is_working_day(local_date(at)) or local.hour + local.minute / 60 < hour:
        return None
    return local_date(at)


def message(day: date, unread: Mapping[str, int], at: datetime, digest_id: uuid.UUID) -> Message | None:
    total = sum(unread.values())
    if not total:
        return None
    lines = "\n".join(f"・{kind}: {n}件" for kind, n in sorted(unread.items()))
    title = f"未読のお知らせが{total}件あります（{day.month}月{day.day}日）"
    return Message("Digest", digest_id, digest_id, title, f"種類ごとの未読件数:\n{lines}",
                   "/me/inbox?unread=true", "normal", at)
