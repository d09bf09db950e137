"""Events produced by referral (つなぐ), on topic referral.events."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Code, Codes, Id, Ids, Instant
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
    # A referral a holder made from a consultation (absent on an intake hand-over's routing task):
    from_office: Id | None = None  # the referrer's office, told of every change
    reason: Code | None = None  # why (REFERRAL_REASONS in referral's domain)


class _Answer(EventData):
    """Each change carries both offices, so notifications can tell the referrer (ids only)."""

    referral_id: UUID
    consultation_id: UUID
    from_office: Id  # the referrer's office (the receiving division for an intake hand-over)
    to_office: Id
    at: Instant


class ReferralAccepted(_Answer):
    """The receiving office took the referral on."""


class ReferralStarted(_Answer):
    """The receiving office began working with the person (in progress)."""


class ReferralDeclined(_Answer):
    """The receiving office declined, with a reason code (not_eligible, no_capacity,
    could_not_contact, referred_elsewhere, person_declined)."""

    decline_reason: Code


class ReferralCompleted(_Answer):
    """The receiving office finished: got_help, partly or not_helped; none yet when the outcome
    is not known (a later ReferralCompleted carries it, or ReferralFollowUpDue is raised)."""

    outcome: Code | None = None


class ReferralWithdrawn(_Answer):
    """The referrer's office withdrew it."""


class ReferralOverdue(_Answer):
    """Unanswered after the city's working days allowed (raised once): the referrer follows up."""

    due_at: Instant


class ReferralFollowUpDue(_Answer):
    """Completed without an outcome, and still none after the working days allowed (raised once)."""

    due_at: Instant


class EscalatedToPromoter(_Answer):
    """Window staff could not tell where to go: the case went to their division's promoter
    (`promoter:<division>`) as a referral `referral_id`, opened from `escalated_from` if any."""

    escalated_from: UUID | None = None


class EscalatedToCoordinator(_Answer):
    """Several agencies are needed: the case went to the general desk / coordinators, on the
    common hand-over form, as referral `referral_id`."""

    escalated_from: UUID | None = None


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


# -- participation support (参加支援): ids and codes only; the needs profile stays in referral --
class ResourceMatched(EventData):
    """The office running a person's participation support ranked directory resources for their
    needs (`resource_ids`, best first; empty when none meets them)."""

    participation_id: UUID
    office: Id  # the office running it
    need_codes: Codes
    resource_ids: Ids = ()
    matched_at: Instant


class PlacementStarted(EventData):
    """The person began at a resource of the directory, with its host office."""

    placement_id: UUID
    participation_id: UUID
    resource_id: Id
    host_office: Id
    office: Id  # the placing office, reminded of each follow-up
    worker: Id  # the placing worker's user id
    started_at: Instant


class FollowUpDue(EventData):
    """A follow-up check-in of a placement is due (`step`: 1w, 1m, 3m, 6m after it began, on the
    city's working days); raised once each until the placement is stable."""

    placement_id: UUID
    participation_id: UUID
    office: Id
    worker: Id
    step: Code
    due_at: Instant


class PlacementStable(EventData):
    """The placing office judged the placement stable: follow-ups end."""

    placement_id: UUID
    participation_id: UUID
    resource_id: Id
    office: Id
    stable_at: Instant


class ResourceGapRecorded(EventData):
    """A need no resource of the directory meets (社会資源の不足), for the meetings and the city's
    statistics: need codes and area only, nothing about the person."""

    gap_id: UUID
    need_codes: Codes
    area: Code | None = None
    recorded_at: Instant
