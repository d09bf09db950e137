"""What one event adds to the figures, and the figures added up (pure: no I/O, no Kafka).

An event's whole effect is one value (`Tally`), kept under the event's CloudEvents id: written
once, in one changelog record, it is there or not after a crash, never in part, and writing it
again on a redelivery changes nothing. The figures are added up from the effects when read:
- a count is one FigureKey (municipality × month × indicator × breakdown) per effect naming it;
- a median is kept as a histogram of working days from a clock's start to its first end
  (joined on an object's id; the breakdown is the working days);
- a stock (rule in_force: partners under agreement) counts, per month, the distinct values of
  the records standing on its last day, the latest record per object standing.
Every rule is a function of the set of effects, not of their order: a replay, a restore or a
redelivery gives the same figures. Months are the city's (JST).
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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


@dataclass
class Tally:
    """One event's effect, at instant `at`: counts to add, clocks it starts (join key -> start
    date), clocks it stops (join key, the figure their working days go to, the end date), and
    records that stand until a later one replaces them (join key -> the stock's record)."""

    at: str = ""  # the event's instant (ISO, UTC): the latest record of an object stands
    counts: list[FigureKey] = field(default_factory=list)
    starts: dict[str, date] = field(default_factory=dict)
    ends: list[tuple[str, FigureKey, date]] = field(default_factory=list)
    standing: dict[str, Standing] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps({
            "at": self.at, "counts": [_key(k) for k in self.counts],
            "starts": {j: d.isoformat() for j, d in self.starts.items()},
            "ends": [[j, _key(k), d.isoformat()] for j, k, d in self.ends],
            "standing": {j: s.row() for j, s in self.standing.items()}}, ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str) -> Tally:
        v = json.loads(raw)
        return cls(v["at"], [FigureKey(*k) for k in v["counts"]],
                   {j: date.fromisoformat(d) for j, d in v["starts"].items()},
                   [(j, FigureKey(*k), date.fromisoformat(d)) for j, k, d in v["ends"]],
                   {j: Standing.of(row) for j, row in v["standing"].items()})


@dataclass(frozen=True)
class Standing:
    """A stock's record: whose (`what`: the distinct value, an office), in force from..to."""

    municipality: str
    what: str
    since: date
    until: date | None

    def row(self) -> list[str | None]:
        return [self.municipality, self.what, self.since.isoformat(),
                self.until.isoformat() if self.until else None]

    @classmethod
    def of(cls, row: list[Any]) -> Standing:
        return cls(row[0], row[1], date.fromisoformat(row[2]),
                   date.fromisoformat(row[3]) if row[3] else None)

    def in_force(self, on: date) -> bool:
        return self.since <= on and (self.until is None or on <= self.until)


def _key(k: FigureKey) -> list[str]:
    return [k.municipality, k.month, k.indicator, k.breakdown]


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


def _date(data: Mapping[str, Any], name: str | None) -> date | None:
    """The city's date of an instant field, or a date field as it is."""
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
    out, month = Tally(at.astimezone(UTC).isoformat()), month_of(at)  # UTC: `at`s compare as text
    for ind in indicators:
        joined = f"{ind.id}{SEP}{data.get(ind.join or '')}"
        if ind.rule == "median_workdays" and name == ind.start:
            started = _date(data, ind.start_at)
            if started is not None:
                out.starts[joined] = started
        if name not in ind.sources or not _applies(ind, data):
            continue
        if ind.rule == "count":
            out.counts.append(FigureKey(municipality, month, ind.id))
        elif ind.rule == "count_by":
            out.counts += [FigureKey(municipality, month, ind.id, v) for v in _values(ind, name, data)]
        elif ind.rule == "in_force":
            since = _date(data, ind.start_at)
            if since is not None:
                out.standing[joined] = Standing(municipality, _clean(data.get(ind.distinct or "")),
                                                since, _date(data, ind.end_at))
        else:
            ended = _date(data, ind.end_at)
            if ended is not None:
                out.ends.append((joined, FigureKey(municipality, month, ind.id), ended))
    return out


def figures(effects: Iterable[Tally], municipality: str, indicators: Iterable[Indicator],
            months: Iterable[str], today: date) -> dict[FigureKey, int]:
    """The figures of one municipality added up from every effect counted (each event's once).
    Stocks are given for the `months` begun by `today` (for the month under way: as of today)."""
    out: dict[FigureKey, int] = defaultdict(int)
    starts: dict[str, date] = {}
    first_end: dict[str, tuple[date, FigureKey]] = {}
    latest: dict[str, tuple[str, Standing]] = {}
    for effect in effects:
        for key in effect.counts:
            if key.municipality == municipality:
                out[key] += 1
        for joined, day in effect.starts.items():
            starts[joined] = min(day, starts.get(joined, day))
        for joined, key, ended in effect.ends:
            if key.municipality == municipality and (joined not in first_end or ended < first_end[joined][0]):
                first_end[joined] = (ended, key)  # the first answer stops the clock
        for joined, record in effect.standing.items():
            later = joined not in latest or effect.at > latest[joined][0]
            if record.municipality == municipality and later:
                latest[joined] = (effect.at, record)
    for joined, (ended, key) in first_end.items():
        if joined in starts:
            out[FigureKey(key.municipality, key.month, key.indicator,
                          elapsed(starts[joined], ended))] += 1
    out.update(_stocks({j: r for j, (_, r) in latest.items()}, municipality, indicators, months,
                       today))
    return dict(out)


def _stocks(records: Mapping[str, Standing], municipality: str, indicators: Iterable[Indicator],
            months: Iterable[str], today: date) -> dict[FigureKey, int]:
    out: dict[FigureKey, int] = {}
    for ind in (i for i in indicators if i.rule == "in_force"):
        mine = [r for joined, r in records.items() if joined.split(SEP, 1)[0] == ind.id]
        for month in months:
            year, m = map(int, month.split("-"))
            if date(year, m, 1) > today:
                continue  # a month not begun has no stock yet
            on = min(date(year, m, calendar.monthrange(year, m)[1]), today)
            out[FigureKey(municipality, month, ind.id)] = len({r.what for r in mine if r.in_force(on)})
    return out


def elapsed(started: date, ended: date) -> str:
    """The histogram bucket of a clock stopped: working days, as the breakdown."""
    return str(working_days_between(started, ended))


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
