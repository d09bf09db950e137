"""Events produced by referral (つなぐ), on topic referral.events."""

from __future__ import annotations

from uuid import UUID

from contracts.bounds import Codes, Id, Instant
from contracts.envelope import EventData
from contracts.taxonomy import DestinationKind, Urgency


class ReferralRequested(EventData):
    """A routing task was opened for the receiving agency (or promoter, desk, coordinator)."""

    referral_id: UUID
    consultation_id: UUID
    requested_at: Instant
    destination_kind: DestinationKind
    to_agency: Id  # agency id, or the role's office for promoter/desk/coordinator
    categories: Codes
    urgency: Urgency
