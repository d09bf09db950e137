"""Who is asking: the verified facts of a signed-in user (pure: no I/O, no framework)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["window_staff", "promoter", "coordinator", "agency_worker", "partner", "auditor",
               "operator",
               "statistics"]  # reads the counts (services/statistics), never a record
ROLES: frozenset[str] = frozenset(get_args(Role))
STAFF_ROLES = frozenset({"window_staff", "promoter", "coordinator", "agency_worker"})
# Roles that act for no office (the platform's operators, the counts' readers): the directory
# does not staff them, and their token's agency decides nothing (kit/auth.py).
OFFICELESS_ROLES = frozenset({"operator", "statistics"})


@dataclass(frozen=True)
class Principal:
    user_id: str
    name: str
    agency: str  # agency, division or office the user works for
    roles: frozenset[str]
    municipality: str

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return self.has(*STAFF_ROLES)
