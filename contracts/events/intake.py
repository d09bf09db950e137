"""Events produced by intake (包括的相談支援), on topic intake.events."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime

from contracts.envelope import EventData
from contracts.taxonomy import Channel, DestinationKind, Urgency


class ConsultationReceived(EventData):
    """A window recorded a consultation. Carries routing facts only: the main complaint (主訴)
    and the person's identity stay in intake and are read there under the access policy."""

    consultation_id: UUID
    received_at: AwareDatetime
    channel: Channel
    receiving_division: str
    categories: tuple[str, ...]
    urgency: Urgency
    destination_kind: DestinationKind
    destination_agency: str | None = None  # set when destination_kind is "agency"
    person_ids: tuple[UUID, ...] = ()
    household_id: UUID | None = None
