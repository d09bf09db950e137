"""Events produced by meetings (多機関協働), on topic meetings.events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from contracts.bounds import Id, Instant, Uuids
from contracts.envelope import EventData, Sensitivity

# 支援会議 (Social Welfare Act Art. 106-6): may discuss people without consent; members bound
# by statutory confidentiality. 重層的支援会議: consented cases only; decides plans.
MeetingKind = Literal["support_meeting", "multilayer_meeting"]


class MeetingScheduled(EventData):
    """A meeting was scheduled."""

    meeting_id: UUID
    kind: MeetingKind
    scheduled_for: Instant


class MemberJoined(EventData):
    """A user became a member; for a 支援会議, only after signing the confidentiality pledge."""

    meeting_id: UUID
    user_id: Id
    agency: Id
    pledged_at: Instant | None = None


class CaseTabled(EventData):
    """A case (its persons and consultations) was put on a meeting's agenda."""

    meeting_id: UUID
    kind: MeetingKind
    person_ids: Uuids = ()
    consultation_ids: Uuids = ()
    tabled_at: Instant

    def sensitivity_label(self) -> Sensitivity | None:
        return "confidential-106-6" if self.kind == "support_meeting" else None
