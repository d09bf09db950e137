"""Meetings (多機関協働): 支援会議 and 重層的支援会議. Rules only; no I/O.

支援会議 (Art. 106-6) may discuss people who have not consented; every member is bound by
statutory confidentiality, so nobody joins without the pledge, and what is tabled is labelled
confidential-106-6. 重層的支援会議 takes only people who have consented.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from contracts.events.meetings import CaseTabled, MeetingKind, MeetingScheduled, MemberJoined
from kit.policy import Consent


class MeetingRuleBroken(ValueError):
    """A request the meeting rules refuse."""


def schedule(kind: MeetingKind, scheduled_for: datetime) -> MeetingScheduled:
    return MeetingScheduled(meeting_id=uuid.uuid4(), kind=kind, scheduled_for=scheduled_for)


def join(meeting_id: uuid.UUID, kind: MeetingKind, user_id: str, agency: str,
         pledged_at: datetime | None) -> MemberJoined:
    if kind == "support_meeting" and pledged_at is None:
        raise MeetingRuleBroken("a 支援会議 member must first sign the confidentiality pledge "
                                "(守秘義務, 社会福祉法第106条の6第5項)")
    return MemberJoined(meeting_id=meeting_id, user_id=user_id, agency=agency, pledged_at=pledged_at)


def table(meeting_id: uuid.UUID, kind: MeetingKind, person_ids: Sequence[uuid.UUID],
          consultation_ids: Sequence[uuid.UUID], consents: Sequence[Consent], at: datetime,
          tabled_by_member: bool) -> CaseTabled:
    if not tabled_by_member:
        raise MeetingRuleBroken("only a member tables a case")
    if not person_ids and not consultation_ids:
        raise MeetingRuleBroken("table at least one person or consultation")
    if kind == "multilayer_meeting":
        lacking = [p for p in person_ids
                   if not any(c.person_id == p and c.active(at) for c in consents)]
        if lacking:
            raise MeetingRuleBroken("a 重層的支援会議 takes only people who have consented; "
                                    "without consent, table the case in a 支援会議")
    return CaseTabled(meeting_id=meeting_id, kind=kind, person_ids=tuple(person_ids),
                      consultation_ids=tuple(consultation_ids), tabled_at=at)
