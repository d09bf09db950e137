"""Who takes part in the meetings tests (tests/test_meetings.py, tests/test_meeting_materials.py):
the coordinators' chair, the holding window (at intake, where it registers persons and records
their consents, and as the same user at meetings, where it tables them), members of agencies of
each test's own, and the joint session both files hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from infra.local.stack import Stack
from tests.helpers import Client, person, tag
from tests.test_access_holes import _meeting, _tables, _user


@dataclass(frozen=True)
class Cast:
    http: httpx.AsyncClient
    stack: Stack
    chair: Client  # a coordinator, at meetings
    window: Client  # the holding window (div-kaigo), at intake
    window_m: Client  # the same user, at meetings

    def member(self, seeded: str, prefix: str) -> tuple[Client, str]:
        """A staff member at meetings, for an agency of this test's own (`prefix-…`)."""
        agency = f"{prefix}-{uuid.uuid4().hex[:6]}"
        return _user(self.http, self.stack, seeded, "meetings", agency=agency), agency

    async def person(self, *consented: str) -> Any:
        """A person the window registers, with a consent covering these agencies if any."""
        p = await self.window.post("/persons", person(tag()))
        if consented:
            await self.window.post(f"/persons/{p['id']}/consents",
                                   {"agencies": list(consented), "method": "oral"})
        return p


def cast(http: httpx.AsyncClient, stack: Stack) -> Cast:
    window = _user(http, stack, "w-kaigo")
    return Cast(http, stack, _user(http, stack, "c-desk", "meetings"), window,
                Client(http, stack, "w-kaigo", "meetings", sub=window.user_id))


@dataclass(frozen=True)
class JointSession:
    """A 支援会議 (`support`: the window and a pledged member) and a 重層的支援会議 held with it as
    a part of its own (`part`: the window and a member whose agency the consent covers); each
    tabled one person: `hidden` (no consent) at the 支援会議, `shared` (consent) at the part."""
    pledged: Client
    agency: str
    consented: Client
    covered: str
    hidden: Any
    shared: Any
    support: str
    part: str


async def joint_session(c: Cast) -> JointSession:
    pledged, agency = c.member("a-soudan", "soudan")
    consented, covered = c.member("a-kodomo", "kodomo")
    hidden, shared = await c.person(), await c.person("div-kaigo", covered)
    support = await _meeting(c.chair, "support_meeting", [(pledged, agency), (c.window_m, "div-kaigo")])
    part = await c.chair.post("/meetings", {"kind": "multilayer_meeting", "title": "合同開催",
                                            "scheduled_for": "2026-12-24T10:00:00+09:00",
                                            "joint_with": support})
    for member, office in ((c.window_m, "div-kaigo"), (consented, covered)):
        await c.chair.post(f"/meetings/{part['id']}/members", {"user_id": member.user_id, "agency": office})
    await _tables(c.window_m, support, {"person_ids": [hidden["id"]], "notes": "同意なし"}, 201)
    await _tables(c.window_m, part["id"], {"person_ids": [shared["id"]]}, 201)
    return JointSession(pledged, agency, consented, covered, hidden, shared, support, part["id"])
