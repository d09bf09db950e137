"""The indicator table (indicators.json), read once: what each figure counts and how."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from contracts.taxonomy import category_label

TABLE = Path(__file__).with_name("indicators.json")
Rule = Literal["count", "count_by", "median_workdays", "in_force"]

# Counted by the stream itself, not from a source: what it could not read or does not know.
UNKNOWN_TYPES = "unknown_event_types"
UNREADABLE = "unreadable_events"


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str  # Japanese: what the report and the committee read
    label_en: str
    sources: tuple[str, ...]  # contracts.registry event names
    rule: Rule
    unit: str
    by: str | None = None  # count_by: a payload field, or "@type"
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    start: str | None = None  # median_workdays: the event that starts the clock...
    start_at: str | None = None  # ...its instant field
    end_at: str | None = None  # the source events' instant field
    join: str | None = None  # the field both carry (an object's id, never a person's)
    distinct: str | None = None  # in_force: counted once per value of this field (an office)

    @property
    def types(self) -> tuple[str, ...]:
        return (*self.sources, *((self.start,) if self.start else ()))


BUILT_IN = (
    Indicator(UNKNOWN_TYPES, "未知の種別のイベント数（種別）", "Events of a type no contract names, by type",
              (), "count_by", "件", by="@type"),
    Indicator(UNREADABLE, "読み取れなかったイベント数（トピック別）", "Events without readable CloudEvents "
              "attributes, by topic", (), "count_by", "件", by="@topic"),
)


def _indicator(row: Mapping[str, Any]) -> Indicator:
    fields = {k: v for k, v in row.items() if k in Indicator.__dataclass_fields__}
    fields["sources"] = tuple(row["sources"])
    fields["where"] = {k: tuple(v) for k, v in row.get("where", {}).items()}
    return Indicator(**fields)


@lru_cache(maxsize=1)
def indicators() -> tuple[Indicator, ...]:
    rows = json.loads(TABLE.read_text(encoding="utf-8"))["indicators"]
    return (*(_indicator(r) for r in rows), *BUILT_IN)


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    labels: dict[str, str] = json.loads(TABLE.read_text(encoding="utf-8"))["breakdown_labels"]
    return labels


def by_id() -> dict[str, Indicator]:
    return {i.id: i for i in indicators()}


def breakdown_label(indicator: Indicator, code: str) -> str:
    """The label a reader sees for a breakdown's code (categories from the shared taxonomy)."""
    if indicator.by == "categories":
        return category_label(code)
    # A code may mean different things in two fields ('visit': 来所 as a channel, 家庭訪問 as an
    # outreach method): a "<field>:<code>" label wins over the plain code's.
    labels = _labels()
    return labels.get(f"{indicator.by}:{code}") or labels.get(code, code)
