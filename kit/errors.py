"""Domain errors: a rule a command broke, with the problem type it is known by. Pure (no web
framework here), so domain code raises these; kit/problems.py maps every one to an RFC 9457
response once, for all services.

    class PlanRuleBroken(DomainError):
        status, title, type_ = 409, "Not in that state", "urn:tsunagu:problem:plan-state"
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 422
    title: str = "Rule broken"
    type_: str = "urn:tsunagu:problem:rule-broken"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail, self.extra = detail, extra  # extra: facts for the client (ids, codes)
