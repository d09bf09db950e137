"""The directory referral owns: the file an operator edits, and the event every service's view
is fed by. Rules only; no I/O."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events.referral import DirectoryChanged, DirectoryLegalBody, DirectoryOffice
from contracts.taxonomy import LegalBodyKind, OfficeKind

from .resources import ResourceIn

# -- the directory (legal bodies, offices, who staffs them) ---------------------------------
_ID = r"^[a-z0-9][a-z0-9:_-]{0,99}$"


class LegalBodyIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    kind: LegalBodyKind
    label: str = Field(min_length=1, max_length=200)
    participating: bool


class OfficeIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    legal_body: str
    kind: OfficeKind
    label: str = Field(min_length=1, max_length=200)
    takes_handovers: bool
    staff: tuple[str, ...] = ()


class DirectoryFile(BaseModel):
    """The file an operator edits (services/referral/directory.json)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    legal_bodies: tuple[LegalBodyIn, ...] = Field(min_length=1)
    offices: tuple[OfficeIn, ...] = Field(min_length=1)
    resources: tuple[ResourceIn, ...] = ()  # community resources (HSDS services), hosted by offices

    @model_validator(mode="after")
    def _consistent(self) -> DirectoryFile:
        bodies = [b.id for b in self.legal_bodies]
        offices = [o.id for o in self.offices]
        # Counted once (a `list.count` per id was quadratic: 0.57 s of referral's event loop for
        # 4,800 offices, every reload; bench/PROFILE.md, wave 8).
        twice = {i for i, n in Counter(bodies + offices).items() if n > 1}
        if twice:  # a consent scope names either: one id, one meaning
            raise ValueError(f"ids used twice: {sorted(twice)}")
        orphans = sorted({o.legal_body for o in self.offices} - set(bodies))
        if orphans:
            raise ValueError(f"offices name unknown legal bodies: {orphans}")
        resources = [r.id for r in self.resources]
        if len(set(resources)) != len(resources):
            raise ValueError("resource ids used twice")
        homeless = sorted({r.host_office for r in self.resources} - set(offices))
        if homeless:
            raise ValueError(f"resources name unknown host offices: {homeless}")
        return self

    def resource(self, resource_id: str) -> ResourceIn | None:
        return next((r for r in self.resources if r.id == resource_id), None)


def directory_changed(directory: DirectoryFile, revision: int, at: datetime) -> DirectoryChanged:
    """The event every service's view is fed by: ids and routing facts, no labels."""
    return DirectoryChanged(
        revision=revision, changed_at=at,
        legal_bodies=tuple(DirectoryLegalBody(legal_body_id=b.id, kind=b.kind,
                                              participating=b.participating)
                           for b in directory.legal_bodies),
        offices=tuple(DirectoryOffice(office_id=o.id, legal_body_id=o.legal_body, kind=o.kind,
                                      takes_handovers=o.takes_handovers,
                                      staff_user_ids=tuple(dict.fromkeys(o.staff)))
                      for o in directory.offices))
