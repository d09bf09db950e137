"""Events produced by intake (包括的相談支援), on topic intake.events."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from contracts.bounds import Codes, Id, Ids, Instant, Uuids
from contracts.envelope import EventData
from contracts.events.referral import MAX_ENTRIES
from contracts.taxonomy import Channel, DestinationKind, Urgency


class ConsultationReceived(EventData):
    """A window recorded a consultation. Carries routing facts only: the main complaint (主訴)
    and the person's identity stay in intake and are read there under the access policy."""

    consultation_id: UUID
    received_at: Instant
    channel: Channel
    receiving_division: Id
    categories: Codes
    urgency: Urgency
    destination_kind: DestinationKind
    destination_agency: Id | None = None  # set when destination_kind is "agency"
    person_ids: Uuids = ()
    # Of person_ids, those who came to the window themselves (本人来所): the window holds their
    # case; persons merely named it does not (kit/holders.py).
    present_ids: Uuids = ()
    household_id: UUID | None = None


class PersonRegistered(EventData):
    """A person record was created. Identity stays in intake; only the id travels."""

    person_id: UUID
    registered_at: Instant
    registered_agency: Id | None = None  # the window that registered them holds the record


class PersonsMerged(EventData):
    """Two records were confirmed to be one person (名寄せ); references to `merged_person_id`
    now mean `surviving_person_id`. Always an explicit act of a person, never automatic."""

    surviving_person_id: UUID
    merged_person_id: UUID
    merged_at: Instant


class PersonsUnmerged(EventData):
    """A merge was undone: `restored_person_id` is a person of its own again."""

    surviving_person_id: UUID
    restored_person_id: UUID
    unmerged_at: Instant


class HouseholdChanged(EventData):
    """A household's membership changed (世帯)."""

    household_id: UUID
    member_ids: Uuids
    changed_at: Instant


class ConsentGranted(EventData):
    """A person (or their guardian/representative) consented to sharing (個人情報共有の同意).
    Carries the scope every service needs to decide access; the evidence stays in intake."""

    consent_id: UUID
    person_id: UUID
    agencies: Ids  # legal-body (or office) ids in the directory
    purposes: Codes
    valid_from: Instant
    valid_until: Instant | None = None
    all_participating: bool = False  # every participating body: an explicit choice, with evidence
    # What that choice meant when it was given: the legal bodies then taking part in the
    # 重層的支援体制 (intake's directory view). A body that joins later is not among them. Empty
    # on events from before this field: such a choice covers no body of its own (only
    # `agencies` count), and the person is asked again.
    participating_bodies: Annotated[tuple[Id, ...], Field(max_length=MAX_ENTRIES)] = ()


class ConsentWithdrawn(EventData):
    """Consent was withdrawn: sharing under it stops from `withdrawn_at`, everywhere; for the
    bodies in `only_for` alone when it names any (the consent still covers the others)."""

    consent_id: UUID
    person_id: UUID
    withdrawn_at: Instant
    only_for: Ids = ()  # withdrawn for these bodies only; empty: in whole


class ConsentExpired(EventData):
    """Consent reached its end date."""

    consent_id: UUID
    person_id: UUID
    expired_at: Instant
