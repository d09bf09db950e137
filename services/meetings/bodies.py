"""The meeting bodies the plan names (bodies.json), as data: each with its legal ground, its
regime and who may be a member. A body's regime is the meeting kind events carry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from contracts.events.meetings import MeetingKind

from .domain import MeetingRuleBroken

_KIND: dict[str, MeetingKind] = {"confidential": "support_meeting", "consent": "multilayer_meeting"}


@dataclass(frozen=True)
class Body:
    id: str
    label: str
    ground: str
    regime: str  # confidential (pledged members, no consent needed) | consent
    members: str

    @property
    def kind(self) -> MeetingKind:
        return _KIND[self.regime]


def _load() -> dict[str, Body]:
    data = json.loads((Path(__file__).parent / "bodies.json").read_text(encoding="utf-8"))
    return {b["id"]: Body(**b) for b in data["bodies"]}


BODIES = _load()


def body_for(kind: MeetingKind, body_id: str | None) -> Body:
    """The body a meeting of `kind` is held by (by default the body named like the kind)."""
    body = BODIES.get(body_id or kind)
    if body is None:
        raise MeetingRuleBroken(f"unknown meeting body {body_id}: one of {', '.join(BODIES)}")
    if body.kind != kind:
        raise MeetingRuleBroken(f"{body.label} は {body.regime} の会議です / {body.id} is held under "
                                f"the {body.regime} regime: schedule it as {body.kind}")
    return body
