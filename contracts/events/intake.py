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


class PersonRegistered(EventData):
    """A person record was created. Identity stays in intake; only the id travels."""

    person_id: UUID
    registered_at: AwareDatetime


class PersonsMerged(EventData):
    """Two records were confirmed to be one person (名寄せ); references to `merged_person_id`
    now mean `surviving_person_id`. Always an explicit act of a person, never automatic."""

    surviving_person_id: UUID
    merged_person_id: UUID
    merged_at: AwareDatetime


class PersonsUnmerged(EventData):
    """A merge was undone: `restored_person_id` is a person of its own again."""

    surviving_person_id: UUID
    restored_person_id: UUID
    unmerged_at: AwareDatetime


class HouseholdChanged(EventData):
    """A household's membership changed (世帯)."""

    household_id: UUID
    member_ids: tuple[UUID, ...]
    changed_at: AwareDatetime


class ConsentGranted(EventData):
    """A person (or their guardian/representative) consented to sharing (個人情報共有の同意).
    Carries the scope every service needs to decide access; the evidence stays in intake."""

    consent_id: UUID
    person_id: UUID
    agencies: tuple[str, ...]  # legal-body (or office) ids in the directory
    purposes: tuple[str, ...]
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None
    all_participating: bool = False  # every participating body: an explicit choice, with evidence


class ConsentWithdrawn(EventData):
    """Consent was withdrawn: sharing under it stops from `withdrawn_at`, everywhere; for the
    bodies in `only_for` alone when it names any (the consent still covers the others)."""

    consent_id: UUID
    person_id: UUID
    withdrawn_at: AwareDatetime
    only_for: tuple[str, ...] = ()


class ConsentExpired(EventData):
    """Consent reached its end date."""

    consent_id: UUID
    person_id: UUID
    expired_at: AwareDatetime
