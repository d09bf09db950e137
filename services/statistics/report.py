"""The report's layout (pure): one row per indicator and breakdown, one column per month of the
fiscal year (April to March, 年度) and the year's total — a median's "total" is the year's median,
a stock's (in_force) its last month's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from .domain import FigureKey, median
from .indicators import Indicator, breakdown_label, indicators

Value = float | int | None


@dataclass(frozen=True)
class Row:
    indicator: Indicator
    breakdown: str  # a code ("" for the indicator's own count; "median" / "n" for a median)
    label: str  # the breakdown's label people read
    values: dict[str, Value]  # month (YYYY-MM) -> figure
    total: Value


def fiscal_months(year: int) -> list[str]:
    return [f"{year + (m < 4)}-{m:02d}" for m in (*range(4, 13), 1, 2, 3)]


def month_label(month: str) -> str:
    year, m = month.split("-")
    return f"{int(year)}年{int(m)}月"


def _median_rows(ind: Indicator, figures: Mapping[FigureKey, int], months: list[str]) -> list[Row]:
    per_month: dict[str, dict[int, int]] = {m: defaultdict(int) for m in months}
    year: dict[int, int] = defaultdict(int)
    for key, count in figures.items():
        if key.indicator == ind.id and key.month in per_month:
            per_month[key.month][int(key.breakdown)] += count
            year[int(key.breakdown)] += count
    return [Row(ind, "median", f"中央値（{ind.unit}）", {m: median(h) for m, h in per_month.items()},
                median(year)),
            Row(ind, "n", "件数", {m: sum(h.values()) for m, h in per_month.items()},
                sum(year.values()))]


def _stock_row(ind: Indicator, figures: Mapping[FigureKey, int], months: list[str]) -> Row:
    values: dict[str, Value] = dict.fromkeys(months)  # a month not begun has no stock yet
    for key, count in figures.items():
        if key.indicator == ind.id and key.month in values:
            values[key.month] = int(values[key.month] or 0) + count
    begun = [v for v in values.values() if v is not None]
    return Row(ind, "", "計", values, begun[-1] if begun else None)


def rows(figures: Mapping[FigureKey, int], months: list[str],
         only: Indicator | None = None) -> list[Row]:
    out: list[Row] = []
    for ind in (only,) if only else indicators():
        if ind.rule == "median_workdays":
            out += _median_rows(ind, figures, months)
            continue
        if ind.rule == "in_force":
            out.append(_stock_row(ind, figures, months))
            continue
        cells: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(months, 0))
        if ind.rule == "count":
            cells[""]  # a count is reported even in a year without one
        for key, count in figures.items():
            if key.indicator == ind.id and key.month in months:
                cells[key.breakdown][key.month] += count
        for code in sorted(cells):
            values = cells[code]
            label = breakdown_label(ind, code) if code else "計"
            out.append(Row(ind, code, label, dict(values), sum(values.values())))
    return out
