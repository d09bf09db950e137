"""What one event adds to the figures, and the figures read back (pure: no I/O, no Kafka).

A figure is a count under the key municipality × month × indicator × breakdown. A median is
kept as counts too: one per working-day value (a histogram), so every table entry is a sum and
replaying the same events always gives the same table. A stock (rule in_force: partners under
agreement) is kept as the latest record per object instead and counted when read, month by
month. Months are the city's (JST).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kit.workdays import local_date, working_days_between

from .indicators import Indicator

SEP = "|"


@dataclass(frozen=True)
class FigureKey:
    municipality: str
    month: str  # YYYY-MM
    indicator: str
    breakdown: str = ""  # "" for a plain count; the working days for a median's histogram

    def encode(self, partition: int) -> str:
        # The source partition ends the key: faust writes a table key's changes to the changelog
        # partition of the event that made them, so a key written from one partition only is
        # restored exactly (readers add the partitions up).
        return SEP.join((self.municipality, self.month, self.indicator, self.breakdown, str(partition)))

    @classmethod
    def decode(cls, key: str) -> FigureKey:
        municipality, month, indicator, breakdown, _ = key.split(SEP)
        return cls(municipality, month, indicator, breakdown)


@dataclass
class Tally:
    """One event's effect: counts to add, clocks to start (join key -> start date), clocks to
    stop (join key, the figure their working days go to, the end date), and records that stand
    until replaced (join key -> municipality|distinct value|from|to, see `in_force`)."""

    counts: list[FigureKey] = field(default_factory=list)
    starts: dict[str, date] = field(default_factory=dict)
    ends: list[tuple[str, FigureKey, date]] = field(default_factory=list)
    standing: dict[str, str] = field(default_factory=dict)


def month_of(at: datetime) -> str:
    return local_date(at).strftime("%Y-%m")


def _clean(value: object) -> str:
    return str(value).replace(SEP, "/")[:120]  # a breakdown is a code: never let it split a key


def _values(indicator: Indicator, name: str, data: Mapping[str, Any]) -> list[str]:
    if indicator.by == "@type":
        return [name]
    value = data.get(indicator.by or "")
    if value is None:
        return []
    return [_clean(v) for v in value] if isinstance(value, list | tuple) else [_clean(value)]


def _applies(indicator: Indicator, data: Mapping[str, Any]) -> bool:
    return all(str(data.get(f)) in allowed for f, allowed in indicator.where.items())


def _instant(data: Mapping[str, Any], name: str | None) -> date | None:
    """The city's date of an instant field, or of a date field as it is."""
    raw = data.get(name or "")
    try:
        if not isinstance(raw, str):
            return None
        return date.fromisoformat(raw) if len(raw) == 10 else local_date(datetime.fromisoformat(raw))
    except ValueError:
        return None


def tally(indicators: Iterable[Indicator], name: str, municipality: str, at: datetime,
          data: Mapping[str, Any]) -> Tally:
    """What event `name` (a contracts.registry name) of `municipality`, occurring `at`, adds."""
    out, month = Tally(), month_of(at)
    for ind in indicators:
        joined = f"{ind.id}{SEP}{data.get(ind.join or '')}"
        if ind.rule == "median_workdays" and name == ind.start:
            started = _instant(data, ind.start_at)
            if started is not None:
                out.starts[joined] = started
        if name not in ind.sources or not _applies(ind, data):
            continue
        if ind.rule == "count":
            out.counts.append(FigureKey(municipality, month, ind.id))
        elif ind.rule == "count_by":
            out.counts += [FigureKey(municipality, month, ind.id, v) for v in _values(ind, name, data)]
        elif ind.rule == "in_force":
            since, until = _instant(data, ind.start_at), _instant(data, ind.end_at)
            if since is not None:
                out.standing[joined] = SEP.join((municipality, _clean(data.get(ind.distinct or "")),
                                                 since.isoformat(), until.isoformat() if until else ""))
        else:
            ended = _instant(data, ind.end_at)
            if ended is not None:
                out.ends.append((joined, FigureKey(municipality, month, ind.id), ended))
    return out


def elapsed(started: date, ended: date) -> str:
    """The histogram bucket of a clock stopped: working days, as the breakdown."""
    return str(working_days_between(started, ended))


def totals(entries: Iterable[tuple[str, int]], municipality: str) -> dict[FigureKey, int]:
    """The table's entries (encoded keys, counts) of one municipality, partitions added up."""
    out: dict[FigureKey, int] = defaultdict(int)
    for key, count in entries:
        figure = FigureKey.decode(key)
        if figure.municipality == municipality and count:
            out[figure] += count
    return dict(out)


def in_force(entries: Iterable[tuple[str, str]], municipality: str, indicators: Iterable[Indicator],
             months: Iterable[str], today: date) -> dict[FigureKey, int]:
    """The stocks (rule in_force) of one municipality: per month begun by `today`, how many
    distinct values have a standing record in force on the month's last day (today, for the
    month under way). The standing table's entries are join key -> Tally.standing's value."""
    spans: dict[str, list[tuple[str, date, date | None]]] = defaultdict(list)
    for key, value in entries:
        where, what, since, until = value.split(SEP)
        if where == municipality:
            spans[key.split(SEP, 1)[0]].append(
                (what, date.fromisoformat(since), date.fromisoformat(until) if until else None))
    out: dict[FigureKey, int] = {}
    for ind in (i for i in indicators if i.rule == "in_force"):
        for month in months:
            year, m = map(int, month.split("-"))
            if date(year, m, 1) > today:
                continue
            on = min(date(year, m, calendar.monthrange(year, m)[1]), today)
            standing = {what for what, since, until in spans[ind.id]
                        if since <= on and (until is None or on <= until)}
            out[FigureKey(municipality, month, ind.id)] = len(standing)
    return out


def median(histogram: Mapping[int, int]) -> float | None:
    """The median of the values a histogram (value -> how many) holds; None when empty."""
    n = sum(histogram.values())
    if not n:
        return None
    ordered = sorted(histogram.items())

    def nth(k: int) -> int:  # the k-th smallest value, from 0
        for value, count in ordered:
            if k < count:
                return value
            k -= count
        raise IndexError(k)

    return (nth((n - 1) // 2) + nth(n // 2)) / 2
