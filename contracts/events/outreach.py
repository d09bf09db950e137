"""Events produced by outreach (アウトリーチ等を通じた継続的支援), on topic outreach.events.

Before consent, what outreach knows of a person is 支援会議 material (Art. 106-6): an event
about an identified person (`identified`: a named person, or a case linked to a person record)
carries the confidential-106-6 label, so it never reaches a consent-based view, and an inbox
says no more than "you have an item". No event carries a name, an address or what a partner
wrote: ids, codes and instants only. The hand-over alone rests on the person's consent.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.bounds import Code, Codes, Id, Instant, Uuids
from contracts.envelope import EventData, Sensitivity
from contracts.taxonomy import Urgency

Origin = Literal["report", "alert", "meeting", "coordinator"]
Stage = Literal["not_contacted", "attempting_contact", "contact_made", "relationship_building",
                "consent_obtained", "handed_over", "paused", "ended"]


class _PreConsent(EventData):
    identified: bool = False  # about an identified person: 支援会議 material

    def sensitivity_label(self) -> Sensitivity | None:
        return "confidential-106-6" if self.identified else None


class ConcernReported(_PreConsent):
    """A partner (見守り協定) reported a concern; what it wrote stays in outreach."""

    report_id: UUID
    partner_office: Id
    seen: Codes  # what was seen (CONCERN_CODES in outreach's domain)
    urgency: Urgency
    seen_at: Instant
    reported_at: Instant


class PartnerAgreed(EventData):
    """A 見守り協定 registered or changed (PUT /partners/{user}); a change carries the whole
    agreement again under the same `agreement_id`, so the latest one stands. It ends on `until`
    (a later PUT may set or move it). About an office, not a person: the partner account's user
    id stays in outreach."""

    agreement_id: UUID
    partner_office: Id  # the directory's partner office the agreement is with
    since: date
    until: date | None = None  # the last day it is in force; open-ended when absent
    may_report: Codes  # the concern codes the partner may report
    registered_at: Instant


class WeakSignalAlert(_PreConsent):
    """Several low-level reports about one address or person within the window (raised once per
    window, before any case exists). The address stays in outreach: not even its hash travels."""

    alert_id: UUID
    subject_kind: Literal["address", "person"]
    report_ids: Uuids
    report_count: int = Field(ge=1)
    window_days: int = Field(ge=1)
    to_office: Id  # the coordinators who look at it
    raised_at: Instant


class _CaseEvent(_PreConsent):
    outreach_case_id: UUID
    office: Id  # the office holding the case
    at: Instant


class OutreachStarted(_CaseEvent):
    """An outreach case opened: from a report, an alert, a meeting's decision or a coordinator."""

    origin: Origin
    origin_id: UUID | None = None  # the report, alert or decision it started from
    person_id: UUID | None = None
    worker: Id | None = None


class ContactAttempted(_CaseEvent):
    """A contact attempt was logged, with its outcome and the date of the next one."""

    method: Code  # visit, letter, phone, via_neighbour, via_commissioner
    outcome: Code  # no_answer, note_left, refused, contact_made
    next_attempt_on: date | None = None


class ContactMade(_CaseEvent):
    """The first contact with the person was made."""

    method: Code


class ContactOverdue(_CaseEvent):
    """No contact attempt by the working day it was due (raised once per due date)."""

    worker: Id | None = None
    due_at: Instant


class OutreachStageChanged(_CaseEvent):
    """The case moved from one stage to another (paused and ended with a reason code)."""

    from_stage: Stage
    to_stage: Stage
    reason: Code | None = None


class OutreachEnded(_CaseEvent):
    """The case ended without a hand-over, with a reason code."""

    reason: Code


class OutreachHandedOver(EventData):
    """The person consented (`consent_id` covers the offices concerned): intake opens
    `consultation_id` from it with the categories the person agreed to share, and nothing else."""

    outreach_case_id: UUID
    consultation_id: UUID
    person_id: UUID
    consent_id: UUID
    office: Id  # the outreach office handing over: it receives the consultation
    to_office: Id  # where the person's support continues (may be the same office)
    categories: Codes = ()
    handed_over_at: Instant

