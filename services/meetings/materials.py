"""An agenda item's materials and minutes, and the record the access policy decides them on.
Rules only; no I/O.

A material is a pointer (service, record type, id) to a record another service owns, with the
title and summary its presenting member writes: opening the record itself is decided by the
owning service, under its own policy. What the pointer and the summary show is decided here,
item by item, by the rule of the body that tabled the item: a 支援会議 item is
confidential-106-6 and its pledged members' only, for the meeting; a 重層的支援会議 item is
for the members whose agency every person's consent covers. In a joint session each item is a
part's own, so a member of one body never sees another body's item.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from kit.policy import MEETING_NOTES, Record

from .domain import Events, MeetingRuleBroken, State

Service = Literal["intake", "plans", "referral", "outreach"]
# The records each service owns that a meeting may refer to.
RECORD_TYPES: Mapping[str, frozenset[str]] = {
    "intake": frozenset({"consultation", "person", "household"}),
    "plans": frozenset({"assessment", "plan"}),
    "referral": frozenset({"referral"}),
    "outreach": frozenset({"outreach_case"}),
}
# What a response hides from a reader the policy does not let see the meeting's notes.
PROTECTED = {"summary": MEETING_NOTES, "minutes": MEETING_NOTES, "notes": MEETING_NOTES}


def frame_record(meeting: Mapping[str, Any], persons: frozenset[uuid.UUID]) -> Record:
    """The meeting itself (schedule, members, session) as the policy sees it: its members'."""
    return Record(municipality=meeting["municipality"], holders=frozenset(), person_ids=persons,
                  meeting_ids=frozenset({meeting["id"]}), meeting_material=True,
                  confidential_106_6=meeting["kind"] == "support_meeting",
                  field_classes=frozenset({MEETING_NOTES}))


def item_record(meeting: Mapping[str, Any], persons: frozenset[uuid.UUID]) -> Record:
    """An agenda item (its materials, minutes and decisions) as the policy sees it: under the
    rule of its body's regime."""
    return replace(frame_record(meeting, persons),
                   consent_regime=meeting["kind"] != "support_meeting")


def presenters(meeting: Mapping[str, Any], item: Mapping[str, Any]) -> frozenset[str]:
    """Who acts on an item in the meeting: its chair and the member who tabled it."""
    return frozenset({meeting["created_by"], item["tabled_by"]})


def present(item: Mapping[str, Any], facts: Mapping[str, Any], presenter: str,
            at: datetime) -> tuple[State, Events]:
    """A material for an item: a pointer to a record of another service, with its title."""
    if facts["record_type"] not in RECORD_TYPES[facts["service"]]:
        raise MeetingRuleBroken(f"{facts['service']} holds no {facts['record_type']}: one of "
                                f"{', '.join(sorted(RECORD_TYPES[facts['service']]))}")
    material = {"id": uuid.uuid4(), "item_id": item["id"], "meeting_id": item["meeting_id"],
                "service": facts["service"], "record_type": facts["record_type"],
                "record_id": facts["record_id"], "title": facts["title"],
                "summary": facts.get("summary"), "presented_by": presenter, "presented_at": at}
    return material, []  # no event: the pointer and summary stay in meetings


def minutes(item: Mapping[str, Any], text: str, recorder: str, at: datetime) -> tuple[State, Events]:
    """The item's minutes (議事録), the chair's record; a later version replaces it."""
    if not text.strip():
        raise MeetingRuleBroken("minutes say what was discussed")
    return {"item_id": item["id"], "minutes": text, "recorded_by": recorder, "recorded_at": at}, []
