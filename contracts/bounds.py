"""Bounded, clean values: every string and list that crosses a boundary (a request, an event)
has a maximum fitting what it holds, and no text holds a NUL (PostgreSQL cannot store one).
Request models and event models use these, so a bound is decided once.

A violation is a pydantic validation error: at the HTTP edge a 422 naming the field, at an
inbox a poison event. A datetime must also survive conversion to UTC (0001-01-01T00:00+09:00
does not), since every service stores and compares instants in UTC.
"""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000)")
    return value


def _utc_representable(value: datetime) -> datetime:
    # An offset is under a day, so only the first and last years can leave the range once in
    # UTC: the conversion (a tenth of a replayed event's parse) is tried there alone.
    if value.year not in (MINYEAR, MAXYEAR):
        return value
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None
    return value


_CLEAN = AfterValidator(_no_nul)

# Identifiers: agency, office, user, division ids; codes of a closed vocabulary.
Id = Annotated[str, StringConstraints(min_length=1, max_length=100), _CLEAN]
Code = Annotated[str, StringConstraints(min_length=1, max_length=50), _CLEAN]
# What people type: a name or short title, a reference, a reason, free text.
Name = Annotated[str, StringConstraints(max_length=100), _CLEAN]
Title = Annotated[str, StringConstraints(max_length=200), _CLEAN]
Ref = Annotated[str, StringConstraints(max_length=200), _CLEAN]  # an object's id, a form's number
Address = Annotated[str, StringConstraints(max_length=200), _CLEAN]
Phone = Annotated[str, StringConstraints(max_length=30), _CLEAN]
Reason = Annotated[str, StringConstraints(max_length=2000), _CLEAN]
Complaint = Annotated[str, StringConstraints(max_length=10000), _CLEAN]  # 主訴, health notes
Note = Annotated[str, StringConstraints(max_length=20000), _CLEAN]  # meeting material

Instant = Annotated[AwareDatetime, AfterValidator(_utc_representable)]

# Lists. An id list names agencies (a consent's scope) or subjects (an agenda, a consultation).
MAX_ITEMS = 50
Ids = Annotated[tuple[Id, ...], Field(max_length=MAX_ITEMS)]
Codes = Annotated[tuple[Code, ...], Field(max_length=MAX_ITEMS)]
Uuids = Annotated[tuple[UUID, ...], Field(max_length=MAX_ITEMS)]
