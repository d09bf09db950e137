"""Meetings (多機関協働): 支援会議 and 重層的支援会議. Rules only; no I/O.

支援会議 (Art. 106-6) may discuss people who have not consented; every member is bound by
statutory confidentiality, so nobody joins without the pledge, and what is tabled is labelled
confidential-106-6. 重層的支援会議 rests on consent alone: every person on its agenda must have
consented to sharing with every member's agency, checked when tabling and when a member joins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from contracts.envelope import EventData
from contracts.events.meetings import (
    CaseTabled,
    MeetingHeld,
    MeetingKind,
    MeetingScheduled,
    MemberJoined,
    PledgeSigned,
)
from kit.policy import Consent, Workplace

State = dict[str, Any]
Events = list[EventData]


class MeetingRuleBroken(ValueError):
    """A request the meeting rules refuse."""


def schedule(kind: MeetingKind, scheduled_for: datetime, body: str, joint_session: uuid.UUID | None,
             title: str, chair: str) -> tuple[State, Events]:
    """A meeting of one body, chaired by the user who schedules it; with `joint_session`, that
    body's part of a joint session (合同開催)."""
    event = MeetingScheduled(meeting_id=uuid.uuid4(), kind=kind, scheduled_for=scheduled_for,
                             body=body, joint_session=joint_session)
    return {"id": event.meeting_id, "kind": kind, "body": body, "joint_session": joint_session,
            "title": title, "scheduled_for": scheduled_for, "created_by": chair}, [event]


def join(meeting_id: uuid.UUID, kind: MeetingKind, user_id: str, agency: str,
         pledged_at: datetime | None) -> tuple[State, Events]:
    if kind == "support_meeting" and pledged_at is None:
        raise MeetingRuleBroken("a 支援会議 member must first sign the confidentiality pledge "
                                "(守秘義務, 社会福祉法第106条の6第5項)")
    joined = MemberJoined(meeting_id=meeting_id, user_id=user_id, agency=agency, pledged_at=pledged_at)
    pledged = [] if pledged_at is None else [PledgeSigned(meeting_id=meeting_id, user_id=user_id,
                                                          pledged_at=pledged_at)]
    return joined.model_dump(), [joined, *pledged]


def table(meeting_id: uuid.UUID, kind: MeetingKind, person_ids: Sequence[uuid.UUID],
          consultation_ids: Sequence[uuid.UUID], notes: str | None, presenter: str,
          at: datetime) -> tuple[State, Events]:
    """An agenda item, presented by the member who tables it (its presenting member)."""
    if not person_ids and not consultation_ids:
        raise MeetingRuleBroken("table at least one person or consultation")
    item = {"id": uuid.uuid4(), "meeting_id": meeting_id, "person_ids": list(person_ids),
            "consultation_ids": list(consultation_ids), "notes": notes, "tabled_by": presenter,
            "tabled_at": at}
    return item, [CaseTabled(meeting_id=meeting_id, kind=kind, person_ids=tuple(person_ids),
                             consultation_ids=tuple(consultation_ids), tabled_at=at)]


def uncovered(person_ids: Iterable[uuid.UUID], members: Mapping[str, Workplace],
              consents: Sequence[Consent], at: datetime) -> list[tuple[uuid.UUID, str]]:
    """For a 重層的支援会議: each (person, member's offices) whose sharing no consent of the person
    covers. `members`: user id -> where the directory says they act (never the token's agency)."""
    return [(p, ", ".join(sorted(place.offices)) or user)
            for p in sorted(set(person_ids)) for user, place in sorted(members.items())
            if not any(c.person_id == p and c.covers(place, "support", at) for c in consents)]


def uncovered_message(gaps: list[tuple[uuid.UUID, str]]) -> str:
    agencies = "、".join(sorted({a for _, a in gaps}))
    return (f"重層的支援会議は同意に基づく会議です。{agencies} を対象とする本人の同意がない方がいます。"
            f"保持機関が同意を記録するか、支援会議に付議してください / a 重層的支援会議 rests on "
            f"consent: record a consent of each person that covers {agencies}, or table the case "
            f"at a 支援会議 instead")


def attendance(attendees: Sequence[str], members: Iterable[str], chair: str) -> tuple[str, ...]:
    """Who attended: the chair and members only (attendance is a fact about the meeting)."""
    strangers = set(attendees) - set(members) - {chair}
    if strangers:
        raise MeetingRuleBroken(f"not members of this meeting: {', '.join(sorted(strangers))}")
    return tuple(dict.fromkeys(attendees))


def hold(meeting: Mapping[str, Any], attendees: Sequence[str], members: Iterable[str],
         minutes: str | None, at: datetime) -> tuple[State, Events]:
    """The session (開催): who attended and the minutes, which stay in meetings."""
    attended = attendance(attendees, members, meeting["created_by"])
    session = {"meeting_id": meeting["id"], "held_at": at, "attendee_ids": list(attended),
               "minutes": minutes}
    return session, [MeetingHeld(meeting_id=meeting["id"], kind=meeting["kind"],
                                 attendee_ids=attended, held_at=at)]
