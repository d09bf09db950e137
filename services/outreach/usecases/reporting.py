"""Partners' commands: their agreements and their reports, which add up to weak signals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kit import views
from kit.access import Access
from kit.clock import now
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from .. import store
from ..domain import reports
from .common import DESK, THRESHOLD, WINDOW_DAYS, at_desk


async def register_partner(a: reports.Agreement, uow: UnitOfWork, principal: Principal,
                           access: Access) -> None:
    await at_desk(uow, principal, access, "write", "partner_agreement", a.user_id)
    office = await views.office(uow.conn, a.office_id)
    staffed = a.office_id in (await views.workplace_of(uow.conn, a.user_id)).offices
    if office is None or office.kind != "partner" or not staffed:
        raise Problem(422, "Not a partner office", f"{a.user_id} must staff a partner office of "
                      "the directory (GET /directory)")
    if not a.may_report <= reports.CONCERN_CODES:
        raise Problem(422, "Unknown concern codes", f"one of {sorted(reports.CONCERN_CODES)}")
    at = now()
    before, agreement_id = await store.put_agreement(uow.conn, uow.municipality, a,
                                                     principal.user_id, at)
    event = reports.agreed(before, a, agreement_id, at)
    if event is not None:  # statistics counts the partner offices under agreement from it
        uow.record(event)
    await access.audit_only(uow, principal, "write", "partner_agreement", a.user_id,
                            reason="the coordinators register a watch-over agreement")


async def report_concern(body: Any, uow: UnitOfWork, principal: Principal, access: Access) -> dict[str, Any]:
    """A partner's report; a weak signal when it makes THRESHOLD within WINDOW_DAYS."""
    m, at = uow.municipality, now()
    await access.require(uow, principal, principal.has("partner"), "write", "concern_report", None,
                         "気づきの連絡は見守り協定を結んだ協力者が行います / partners under a "
                         "watch-over agreement report concerns; staff start a case instead")
    agreement = await store.agreement(uow.conn, m, principal.user_id)
    offices = (await views.workplace_of(uow.conn, principal.user_id)).offices
    if agreement and agreement.office_id not in offices:
        agreement = None  # no longer staffs the partner office the agreement is with
    try:
        kind, key = reports.subject(body.address, body.person_name)
        event = reports.report(agreement, body.seen, body.urgency, body.seen_at or at,
                               bool(body.person_name), at)
    except reports.ReportRefused as exc:
        raise Problem(422, "Report refused", str(exc)) from exc
    last_alert = await store.lock_subject(uow.conn, m, key)  # reports about it: one at a time
    await store.add_report(uow.conn, m, id=event.report_id, reported_by=principal.user_id,
                           partner_office=event.partner_office, person_name=body.person_name,
                           address=body.address, subject_kind=kind, subject_key=key,
                           seen=event.seen, note=body.note, seen_at=event.seen_at,
                           urgency=event.urgency, reported_at=at)
    uow.record(event)
    if event.urgency in reports.LOW_LEVEL:
        recent = await store.recent_reports(uow.conn, m, key, at - timedelta(days=WINDOW_DAYS),
                                            sorted(reports.LOW_LEVEL))
        alert = reports.weak_signal(recent, last_alert, at, THRESHOLD, WINDOW_DAYS, DESK, kind,
                                    bool(body.person_name))
        if alert is not None:
            await store.add_alert(uow.conn, m, alert.alert_id, key, list(alert.report_ids), at)
            uow.record(alert)
    await access.audit_only(uow, principal, "write", "concern_report", str(event.report_id),
                            reason="a partner's report under its watch-over agreement")
    return {"id": event.report_id, "status": "received", "received_at": at}


