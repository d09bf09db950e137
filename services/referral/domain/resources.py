"""Community resources of the directory (居場所, work experience and employment hosts,
volunteering, salons, the 人材バンク), modelled on Open Referral HSDS 3: each is a service of an
organisation (the host office's legal body) at a location, with a contact, eligibility,
languages, a weekly schedule and a capacity. Rules only; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ResourceKind = Literal["place_to_belong", "work_experience", "employment", "volunteering", "salon",
                       "talent_bank"]
# What a person's participation support is for; the meetings decide with these codes.
NeedCode = Literal["belonging", "social_contact", "daily_rhythm", "work_experience", "employment",
                   "volunteering", "skills_use"]
Area = Literal["fussa-kita", "fussa-chuo", "fussa-minami", "citywide"]  # 福生市の地区
Mobility = Literal["walk", "bicycle", "public_transport", "car", "home"]  # "home": from home only
Constraint = Literal["needs_step_free", "afternoons_only", "quiet_place"]
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]

NEED_LABELS: dict[str, str] = {
    "belonging": "居場所", "social_contact": "人との交流", "daily_rhythm": "生活リズム",
    "work_experience": "就労体験", "employment": "就労", "volunteering": "ボランティア・役割",
    "skills_use": "経験・特技を活かす"}
_ID = r"^[a-z0-9][a-z0-9:_-]{0,99}$"
_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocationIn(_Frozen):
    name: str = Field(min_length=1, max_length=200)
    address_1: str = Field(min_length=1, max_length=200)  # 町名・番地
    postal_code: str = Field(pattern=r"^[0-9]{3}-[0-9]{4}$")
    city: str = Field("福生市", max_length=50)
    state_province: str = Field("東京都", max_length=50)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    step_free: bool = False  # 段差なしで入れる


class ContactIn(_Frozen):
    name: str = Field(min_length=1, max_length=100)  # the desk, not a private person
    phone: str = Field(pattern=r"^[0-9-]{6,20}$")
    email: str | None = Field(None, max_length=200)


class ScheduleIn(_Frozen):
    byday: tuple[Weekday, ...] = Field(min_length=1, max_length=7)
    opens_at: str = Field(pattern=_TIME)
    closes_at: str = Field(pattern=_TIME)
    description: str = Field("", max_length=500)

    @property
    def hours_per_week(self) -> float:
        def minutes(t: str) -> int:
            return int(t[:2]) * 60 + int(t[3:])
        return len(self.byday) * max(0, minutes(self.closes_at) - minutes(self.opens_at)) / 60


class ResourceIn(_Frozen):
    """One resource as the operator's file has it (services/referral/directory.json)."""

    id: str = Field(pattern=_ID)
    host_office: str = Field(pattern=_ID)  # an office of the directory; its staff update capacity
    kind: ResourceKind
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=2000)
    need_codes: tuple[NeedCode, ...] = Field(min_length=1)
    activities: tuple[str, ...] = ()  # interest codes the person may share (cooking, farming…)
    area: Area
    reachable_by: tuple[Mobility, ...] = Field(min_length=1)
    min_hours_per_week: float = Field(0, ge=0, le=60)
    eligibility: str = Field("", max_length=500)
    minimum_age: int | None = Field(None, ge=0, le=120)
    maximum_age: int | None = Field(None, ge=0, le=120)
    languages: tuple[str, ...] = ("ja",)  # ISO 639-1
    location: LocationIn
    contact: ContactIn
    schedule: ScheduleIn
    maximum: int = Field(ge=0, le=10000)  # places at most (人), until the host office updates it


@dataclass(frozen=True)
class Capacity:
    """Places free now, as the host office last said (or the maximum until it says)."""

    available: int
    maximum: int
    updated_at: datetime


def search(resources: tuple[ResourceIn, ...], capacities: dict[str, Capacity],
           needs: frozenset[str], area: str | None, available_only: bool) -> list[ResourceIn]:
    """Resources meeting any of `needs` (all when none named), in `area` or citywide, with a
    free place when `available_only`; in the file's order."""
    return [r for r in resources
            if (not needs or needs & set(r.need_codes))
            and (area is None or r.area in (area, "citywide"))
            and (not available_only or capacities[r.id].available > 0)]


def capacity_of(resource: ResourceIn, stored: Capacity | None, loaded_at: datetime) -> Capacity:
    """The host office's last word; the file's maximum, all free, until it has said one."""
    return stored or Capacity(resource.maximum, resource.maximum, loaded_at)
