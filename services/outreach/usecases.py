"""outreach's commands: one function each, deciding and auditing on the route's unit of work.

Reports and alerts are held by the coordinators' office (DESK); a case by the office that
started it. Who may read or write a case is kit/policy.py's decision on `case_record`: its
holding office, and (reading only) the pledged members of a 支援会議 that tabled the person or
decided on the case. Everything before consent is 支援会議 material (confidential_106_6), so
neither a consent nor break-glass opens it.
"""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
from fastapi import Request

from contracts.events.outreach import Origin, OutreachHandedOver
from contracts.taxonomy import CATEGORIES, COORDINATORS
from kit import views, workdays
from kit.access import Access
from kit.clock import now
from kit.policy import Consent, Record
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from . import store
from .domain import cases, reports

DESK = os.environ.get("OUTREACH_DESK_OFFICE", COORDINATORS)
THRESHOLD = int(os.environ.get("OUTREACH_SIGNAL_THRESHOLD", "3"))
WINDOW_DAYS = int(os.environ.get("OUTREACH_SIGNAL_WINDOW_DAYS", "30"))
FIRST_CONTACT_DAYS = int(os.environ.get("OUTREACH_FIRST_CONTACT_WORKING_DAYS", "5"))
GRACE_DAYS = int(os.environ.get("OUTREACH_CONTACT_GRACE_WORKING_DAYS", "1"))


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", type_="urn:tsunagu:problem:not-found")


def report_record(m: str) -> Record:
    return Record(municipality=m, holders=frozenset({DESK}), confidential_106_6=True)


async def case_record(conn: asyncpg.Connection, m: str, row: dict[str, Any]) -> Record:
    persons = frozenset({row["person_id"]} if row["person_id"] else set())
    tabled = await views.tabled_in(conn, [row["id"], *persons])
    return Record(municipality=m, holders=frozenset({row["office"]}), person_ids=persons,
                  meeting_ids=tabled | frozenset(row["meeting_ids"]), confidential_106_6=True)


async def at_desk(db: UnitOfWork | asyncpg.Connection, principal: Principal, access: Access,
                  action: Any, object_type: str, object_id: str | None, office: str = DESK) -> None:
    conn = db.conn if isinstance(db, UnitOfWork) else db
    offices = (await views.workplace_of(conn, principal.user_id)).offices
    await access.require(db, principal, principal.is_staff and office in offices, action,
                         object_type, object_id, f"{office} の職員だけが扱えます / only the staff of "
                         f"{office} may do this")


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
    await store.put_agreement(uow.conn, uow.municipality, a, principal.user_id, now())
    await access.audit_only(uow, principal, "write", "partner_agreement", a.user_id,
                            reason="the coordinators register a watch-over agreement")


async def report_concern(body: Any, uow: UnitOfWork, principal: Principal, access: Access) -> dict[str, Any]:
    """A partner's report; a weak signal when it makes THRESHOLD within WINDOW_DAYS."""
    m, at = uow.municipality, now()
    await access.require(uow, principal, principal.has("partner"), "write", "concern_report", None,
                         "気づきの連絡は見守り協定を結んだ協力者が行います / partners under a "
                         "watch-over agreement report concerns; staff start a case instead")
    try:
        kind, key = reports.subject(body.address, body.person_name)
        event = reports.report(await store.agreement(uow.conn, m, principal.user_id), body.seen,
                               body.urgency, body.seen_at or at, bool(body.person_name), at)
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


async def start_case(body: Any, uow: UnitOfWork, principal: Principal, access: Access,
                     request: Request) -> dict[str, Any]:
    m, at = uow.municipality, now()
    office = body.office or DESK
    await at_desk(uow, principal, access, "write", "outreach_case", None, office)
    origin: Origin = "coordinator"
    origin_id, looked_at, facts = None, [], {"address": body.address, "person_name": body.person_name}
    if body.report_id or body.alert_id:
        await access.check(uow, request, principal, report_record(m), "read",
                           "concern_report" if body.report_id else "weak_signal_alert",
                           str(body.report_id or body.alert_id))
        if body.report_id:
            origin, origin_id, looked_at = "report", body.report_id, [body.report_id]
        else:
            found = await store.alert(uow.conn, m, body.alert_id)
            if found is None:
                raise not_found("Alert")
            origin, origin_id, looked_at = "alert", body.alert_id, list(found["report_ids"])
        first = await store.report(uow.conn, m, looked_at[0])
        if first is None:
            raise not_found("Report")
        facts = {k: facts[k] or first[k] for k in facts}
    named = bool(facts["person_name"])
    case, events = cases.start(office, origin, at, origin_id, body.person_id, named, body.worker)
    await store.add_case(uow.conn, m, case, at, worker=body.worker, known=body.known, origin=origin,
                         origin_id=origin_id, contact_due_at=workdays.deadline(at, FIRST_CONTACT_DAYS),
                         **facts)
    await store.look_at(uow.conn, m, looked_at, at)
    uow.record(*events)
    await access.audit_only(uow, principal, "write", "outreach_case", str(case.id),
                            tuple(p for p in [body.person_id] if p), reason=f"started from {origin}")
    return await read_case(uow.conn, m, case.id)


async def _held(uow: UnitOfWork, request: Request, principal: Principal, access: Access,
                case_id: uuid.UUID) -> dict[str, Any]:
    row = await store.case(uow.conn, uow.municipality, case_id, for_update=True)
    if row is None:
        raise not_found("Outreach case")
    await access.check(uow, request, principal, await case_record(uow.conn, uow.municipality, row),
                       "write", "outreach_case", str(case_id))
    return row


def due_after(next_on: date | None) -> datetime | None:
    """A planned attempt is overdue once GRACE_DAYS working days have passed after its day."""
    if next_on is None:
        return None
    day_before = datetime.combine(next_on - timedelta(days=1), time(12), tzinfo=workdays.JST)
    return workdays.deadline(day_before, 1 + GRACE_DAYS)


async def attempt(case_id: uuid.UUID, body: Any, uow: UnitOfWork, principal: Principal,
                  access: Access, request: Request) -> dict[str, Any]:
    row, at = await _held(uow, request, principal, access, case_id), now()
    try:
        case, events = cases.attempt(store.as_case(row), body.method, body.outcome, at,
                                     body.next_attempt_on)
    except cases.CaseRuleBroken as exc:
        raise Problem(409, "Not possible in this stage", str(exc)) from exc
    await store.add_attempt(uow.conn, case_id, body.method, body.outcome, at, body.next_attempt_on,
                            body.note, principal.user_id)
    await store.save(uow.conn, uow.municipality, case, at, contact_due_at=due_after(body.next_attempt_on))
    uow.record(*events)
    return await read_case(uow.conn, uow.municipality, case_id)


async def move(case_id: uuid.UUID, action: cases.Move, reason: str | None, uow: UnitOfWork,
               principal: Principal, access: Access, request: Request) -> dict[str, Any]:
    row, at = await _held(uow, request, principal, access, case_id), now()
    try:
        case, events = cases.move(store.as_case(row), action, at, reason)
    except cases.CaseRuleBroken as exc:
        raise Problem(409, "Not possible in this stage", str(exc)) from exc
    await store.save(uow.conn, uow.municipality, case, at,
                     **({"end_reason": reason} if action == "end" else {}))
    uow.record(*events)
    return await read_case(uow.conn, uow.municipality, case_id)


async def support_action(case_id: uuid.UUID, body: Any, uow: UnitOfWork, principal: Principal,
                         access: Access, request: Request) -> dict[str, Any]:
    row = await _held(uow, request, principal, access, case_id)
    if row["stage"] in ("handed_over", "ended"):
        raise Problem(409, "Not possible in this stage", f"the case is {row['stage']}")
    if body.to_office and await views.office(uow.conn, body.to_office) is None:
        raise Problem(422, "Unknown office", f"{body.to_office} is not in the directory")
    await store.add_action(uow.conn, case_id, body.kind, body.done_at or now(), body.to_office,
                           body.note, principal.user_id)
    return await read_case(uow.conn, uow.municipality, case_id)


async def plan_handover(case_id: uuid.UUID, body: Any, uow: UnitOfWork, principal: Principal,
                        access: Access, request: Request) -> dict[str, Any]:
    """Where the person's support continues, and what they agreed to share; handed over at once
    when a consent of theirs covers it already, else when one arrives (ConsentGranted)."""
    row = await _held(uow, request, principal, access, case_id)
    to = await views.office(uow.conn, body.to_office)
    if to is None or not to.takes_handovers:
        raise Problem(422, "Not an office taking hand-overs", f"{body.to_office}: see GET /directory")
    unknown = set(body.categories) - CATEGORIES.keys()
    if unknown:
        raise Problem(422, "Unknown categories", f"{sorted(unknown)}: see intake's GET /categories")
    person = body.person_id or row["person_id"]
    await store.save(uow.conn, uow.municipality, store.as_case(row), now(), handover_to=to.office_id,
                     handover_categories=tuple(body.categories), person_id=person,
                     identified=row["identified"] or person is not None)
    planned = await store.case(uow.conn, uow.municipality, case_id, for_update=True)
    assert planned is not None
    for consent_id, consent in await store.consents_of(uow.conn, person) if person else []:
        if await hand_over_if_covered(uow, planned, consent_id, consent):
            break
    return await read_case(uow.conn, uow.municipality, case_id)


async def hand_over_if_covered(uow: UnitOfWork, row: dict[str, Any], consent_id: uuid.UUID,
                               consent: Consent) -> bool:
    """Hand the case over if `consent` (the person's own) covers its office and the receiver."""
    at, to = now(), row["handover_to"] or row["office"]
    places = [await views.office(uow.conn, o) for o in dict.fromkeys([row["office"], to])]
    if row["stage"] not in cases.HANDS_OVER_FROM or consent.person_id != row["person_id"] or \
            not all(p is not None and consent.covers(p.place, "support", at) for p in places):
        return False
    case, events = cases.hand_over(store.as_case(row), consent_id, to,
                                   tuple(row["handover_categories"]), at)
    handed = events[-1]
    assert isinstance(handed, OutreachHandedOver)
    await store.save(uow.conn, uow.municipality, case, at, consent_id=consent_id,
                     consultation_id=handed.consultation_id, contact_due_at=None)
    uow.record(*events)
    return True


async def read_case(conn: asyncpg.Connection, m: str, case_id: uuid.UUID) -> dict[str, Any]:
    row = await store.case(conn, m, case_id)
    assert row is not None
    return {**row, **await store.log_of(conn, case_id)}
