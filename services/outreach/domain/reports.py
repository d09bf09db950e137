"""Partners' concern reports and the weak signals they add up to. Pure.

A partner reports under its watch-over agreement (見守り協定): only what the agreement lets it
report, about an address or a person. Low-level reports (urgency low or normal) about one
subject add up: THRESHOLD of them within WINDOW_DAYS raise one WeakSignalAlert, and no second
one while the last is inside the window. Urgent reports are looked at one by one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from contracts.events.outreach import ConcernReported, PartnerAgreed, WeakSignalAlert
from contracts.taxonomy import Urgency

from .addresses import normalise, normalise_name

# What a partner may have seen (the agreement names which of these it reports).
CONCERN_CODES = frozenset({"mail_piling_up", "no_utility_use", "neighbour_worry", "shouting",
                           "not_seen_recently", "garbage_piling_up", "unpaid_bills", "other"})
SubjectKind = Literal["address", "person"]
LOW_LEVEL: frozenset[Urgency] = frozenset({"low", "normal"})


class ReportRefused(ValueError):
    """The report is outside the partner's agreement, or names no subject."""


@dataclass(frozen=True)
class Agreement:
    """見守り協定: which partner account, of which partner office, since when, reporting what."""

    user_id: str
    office_id: str
    since: date
    may_report: frozenset[str]
    until: date | None = None

    def in_force(self, on: date) -> bool:
        return self.since <= on and (self.until is None or on <= self.until)


def agreed(before: Agreement | None, now: Agreement, agreement_id: uuid.UUID,
           at: datetime) -> PartnerAgreed | None:
    """The event of a registration, or None when it changes nothing (a PUT repeated)."""
    if before == now:
        return None
    return PartnerAgreed(agreement_id=agreement_id, partner_office=now.office_id, since=now.since,
                         until=now.until, may_report=tuple(sorted(now.may_report)), registered_at=at)


def subject(address: str | None, person_name: str | None) -> tuple[SubjectKind, str]:
    """(kind, key) reports are compared on: the normalised address, else the person's name;
    the key is hashed so the index and the alert hold no address in clear."""
    kind: SubjectKind
    if address and normalise(address):
        kind, text = "address", normalise(address)
    elif person_name and normalise_name(person_name):
        kind, text = "person", normalise_name(person_name)
    else:
        raise ReportRefused("a report names an address or a person")
    return kind, hashlib.sha256(f"{kind}:{text}".encode()).hexdigest()


def report(agreement: Agreement | None, seen: Sequence[str], urgency: Urgency, seen_at: datetime,
           named: bool, at: datetime) -> ConcernReported:
    if agreement is None or not agreement.in_force(at.date()):
        raise ReportRefused("見守り協定が登録されていないか、期間外です / no watch-over agreement in "
                            "force for this account: ask the coordinators to register it")
    unknown = set(seen) - CONCERN_CODES
    if unknown or not seen:
        raise ReportRefused(f"seen must name at least one of {sorted(CONCERN_CODES)}")
    outside = set(seen) - agreement.may_report
    if outside:
        raise ReportRefused(f"協定の範囲外です / the agreement does not cover reporting {sorted(outside)}")
    if seen_at > at:
        raise ReportRefused("seen_at cannot be in the future")
    return ConcernReported(report_id=uuid.uuid4(), partner_office=agreement.office_id,
                           seen=tuple(dict.fromkeys(seen)), urgency=urgency, seen_at=seen_at,
                           reported_at=at, identified=named)


def weak_signal(recent: Sequence[uuid.UUID], last_alert_at: datetime | None, at: datetime,
                threshold: int, window_days: int, to_office: str,
                kind: SubjectKind, named: bool) -> WeakSignalAlert | None:
    """`recent`: the subject's low-level reports within the window, this one included."""
    window = timedelta(days=window_days)
    if len(recent) < threshold or (last_alert_at is not None and at - last_alert_at < window):
        return None
    return WeakSignalAlert(alert_id=uuid.uuid4(), subject_kind=kind,
                           report_ids=tuple(recent[-50:]), report_count=len(recent),
                           window_days=window_days, to_office=to_office, raised_at=at,
                           identified=named)
