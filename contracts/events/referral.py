"""Events produced by referral (つなぐ), on topic referral.events."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Codes, Id, Instant
from contracts.envelope import EventData
from contracts.taxonomy import DestinationKind, LegalBodyKind, OfficeKind, Urgency


class ReferralRequested(EventData):
    """A routing task was opened for the receiving agency (or promoter, desk, coordinator)."""

    referral_id: UUID
    consultation_id: UUID
    requested_at: Instant
    destination_kind: DestinationKind
    to_agency: Id  # agency id, or the role's office for promoter/desk/coordinator
    categories: Codes
    urgency: Urgency


# A city's directory: hundreds of offices, not millions (the event stays well under 1 MiB).
MAX_ENTRIES = 5000
MAX_STAFF = 1000


class DirectoryLegalBody(BaseModel):
    """A legal body (法人・団体) that holds data: the city with all its divisions, the
    社会福祉協議会, each commissioned centre, NPO or provider. Sharing between two of them is a
    provision to a third party."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    legal_body_id: Id
    kind: LegalBodyKind
    participating: bool  # takes part in the 重層的支援体制: an "all participating bodies" consent covers it


class DirectoryOffice(BaseModel):
    """Where work lands (a division's window, its promoter desk, the 福祉総合相談窓口, an agency),
    the legal body it belongs to, whether it takes hand-overs, and who staffs it (user ids)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    office_id: Id
    legal_body_id: Id
    kind: OfficeKind
    takes_handovers: bool
    staff_user_ids: Annotated[tuple[Id, ...], Field(max_length=MAX_STAFF)] = ()


class DirectoryChanged(EventData):
    """The directory (owned by referral) changed: the whole of it at `revision`, so every
    service's view can replace its copy. Ids and routing facts only; labels, addresses and
    contacts are read from referral."""

    revision: int = Field(ge=1)
    changed_at: Instant
    legal_bodies: Annotated[tuple[DirectoryLegalBody, ...], Field(max_length=MAX_ENTRIES)]
    offices: Annotated[tuple[DirectoryOffice, ...], Field(max_length=MAX_ENTRIES)]
