"""Matching a person's needs profile against the directory's resources (参加支援のマッチング):
ranked, each with the reasons a worker can read out to the person; a resource the person cannot
use is left out with its reason; a need that nothing left meets is a resource gap. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .resources import NEED_LABELS, Capacity, ResourceIn

MAX_MATCHES = 10


@dataclass(frozen=True)
class Profile:
    """What matching reads of a needs profile (the person's own words are for the worker)."""

    need_codes: frozenset[str]
    interests: frozenset[str] = frozenset()
    constraints: frozenset[str] = frozenset()
    hours_per_week: float = 0
    mobility: frozenset[str] = frozenset()  # how the person can get about
    area: str | None = None


@dataclass(frozen=True)
class Match:
    resource_id: str
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Excluded:
    resource_id: str
    reason: str


@dataclass(frozen=True)
class Ranking:
    matches: tuple[Match, ...]
    excluded: tuple[Excluded, ...]
    unmet: tuple[str, ...]  # need codes no match meets: a resource gap


def _unusable(p: Profile, r: ResourceIn, free: int) -> str | None:
    """Why the person cannot take this resource up now, if they cannot."""
    if not p.mobility & set(r.reachable_by):
        return f"今の移動手段では通えない / not reachable by {', '.join(sorted(p.mobility))}"
    if "needs_step_free" in p.constraints and not r.location.step_free:
        return "段差なしで入れない / not step-free"
    if "afternoons_only" in p.constraints and r.schedule.opens_at < "12:00":
        return f"午前から始まる（{r.schedule.opens_at}） / starts before noon"
    if r.min_hours_per_week > p.hours_per_week:
        return (f"週{r.min_hours_per_week:g}時間以上が必要 / needs {r.min_hours_per_week:g} hours "
                f"a week, the person has {p.hours_per_week:g}")
    if free <= 0:
        return "いま空きがない / no free place now"
    return None


def _score(p: Profile, r: ResourceIn, free: int) -> Match:
    reasons, score = [], 0
    for need in sorted(p.need_codes & set(r.need_codes)):
        score += 3
        reasons.append(f"ニーズ「{NEED_LABELS[need]}」に合う / meets the need {need}")
    shared = sorted(p.interests & set(r.activities))
    if shared:
        score += 2 * len(shared)
        reasons.append(f"関心のある活動: {'、'.join(shared)} / shares interests: {', '.join(shared)}")
    if p.area is not None and r.area == p.area:
        score += 2
        reasons.append("同じ地区 / in the person's area")
    elif r.area == "citywide":
        score += 1
        reasons.append("市内全域 / citywide")
    if "quiet_place" in p.constraints and r.maximum <= 10:
        score += 1
        reasons.append("少人数 / a small group")
    reasons.append(f"空き{free}人 / {free} free")
    return Match(r.id, score, tuple(reasons))


def rank(profile: Profile, resources: tuple[ResourceIn, ...], capacities: dict[str, Capacity],
         limit: int = MAX_MATCHES) -> Ranking:
    """Resources meeting at least one need, best first (ties by id, so a ranking is stable)."""
    matches, excluded = [], []
    for r in resources:
        if not profile.need_codes & set(r.need_codes):
            continue
        free = capacities[r.id].available
        why_not = _unusable(profile, r, free)
        if why_not is None:
            matches.append(_score(profile, r, free))
        else:
            excluded.append(Excluded(r.id, why_not))
    matches.sort(key=lambda m: (-m.score, m.resource_id))
    met = {n for m in matches for n in next(r for r in resources if r.id == m.resource_id).need_codes}
    return Ranking(tuple(matches[:limit]), tuple(excluded),
                   tuple(sorted(profile.need_codes - met)))
