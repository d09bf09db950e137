"""Outreach cases' commands: one function each, deciding and auditing on the route's unit of work."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
from fastapi import Request

from contracts.events.outreach import Origin, OutreachHandedOver
from contracts.taxonomy import CATEGORIES
from kit import views, workdays
from kit.access import Access
from kit.clock import now
from kit.policy import Consent
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from .. import store
from ..domain import cases
from .common import DESK, FIRST_CONTACT_DAYS, GRACE_DAYS, at_desk, case_record, not_found, report_record


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
