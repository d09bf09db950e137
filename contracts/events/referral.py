"""Events produced by referral (つなぐ), on topic referral.events."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from contracts.envelope import EventData
from contracts.taxonomy import DestinationKind, LegalBodyKind, OfficeKind, Urgency


class ReferralRequested(EventData):
    """A routing task was opened for the receiving agency (or promoter, desk, coordinator)."""

    referral_id: UUID
    consultation_id: UUID
    requested_at: AwareDatetime
    destination_kind: DestinationKind
    to_agency: str  # agency id, or the role's office for promoter/desk/coordinator
    categories: tuple[str, ...]
    urgency: Urgency


class DirectoryLegalBody(BaseModel):
    """A legal body (法人・団体) that holds data: the city with all its divisions, the
    社会福祉協議会, each commissioned centre, NPO or provider. Sharing between two of them is a
    provision to a third party."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    legal_body_id: str
    kind: LegalBodyKind
    participating: bool  # takes part in the 重層的支援体制: an "all participating bodies" consent covers it


class DirectoryOffice(BaseModel):
    """Where work lands (a division's window, its promoter desk, the 福祉総合相談窓口, an agency),
    the legal body it belongs to, whether it takes hand-overs, and who staffs it (user ids)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    office_id: str
    legal_body_id: str
    kind: OfficeKind
    takes_handovers: bool
    staff_user_ids: tuple[str, ...] = ()


class DirectoryChanged(EventData):
    """The directory (owned by referral) changed: the whole of it at `revision`, so every
    service's view can replace its copy. Ids and routing facts only; labels, addresses and
    contacts are read from referral."""

    revision: int
    changed_at: AwareDatetime
    legal_bodies: tuple[DirectoryLegalBody, ...]
    offices: tuple[DirectoryOffice, ...]
