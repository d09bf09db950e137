"""plans' commands: one function each, deciding and auditing on the route's unit of work.

Who writes: an office holding every person of the case (kit/holders.py, from intake's events)
writes the assessment and the plan, and applies the meeting's decisions to them; an office the
plan gives a role writes its own progress notes while the person's consent covers it (the team
rule of kit/policy.py). Everyone else reads at most, under the same policy.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg
from fastapi import Request

from contracts.events.plans import AssessmentCompleted, LeadChanged, PlanDrafted
from kit import views
from kit.access import Access
from kit.clock import now
from kit.policy import Record
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from . import domain, ledger, ledger_store, sheets, store
from .ledger import Entry


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", type_="urn:tsunagu:problem:not-found")


async def case_record(conn: asyncpg.Connection, municipality: str, person_ids: frozenset[uuid.UUID],
                      office: str | None = None, team: frozenset[str] = frozenset(),
                      field_classes: frozenset[str] = frozenset()) -> Record:
    """What the policy decides on: the offices holding every person (and the office that wrote
    the object), the persons, and for progress notes the plan's team."""
    held = await views.holding_every(conn, person_ids) | ({office} if office else set())
    return Record(municipality=municipality, holders=held, person_ids=person_ids, team=team,
                  field_classes=field_classes)


async def _writer_office(uow: UnitOfWork, principal: Principal, allowed: frozenset[str],
                         chosen: str | None) -> str:
    """The user's office that acts: one of `allowed` (named when the user staffs several)."""
    mine = sorted((await views.workplace_of(uow.conn, principal.user_id)).offices & allowed)
    if chosen is not None and chosen not in mine:
        raise Problem(422, "Not your office", f"office must be one of {mine}")
    if chosen is None and len(mine) != 1:
        raise Problem(422, "Which office writes?", f"name office, one of {mine}")
    return chosen or mine[0]


async def _check_write(uow: UnitOfWork, access: Access, request: Request, principal: Principal,
                       record: Record, object_type: str, object_id: str | None) -> None:
    await access.staff_only(uow, principal, "write", object_type, object_id)
    await access.check(uow, request, principal, record, "write", object_type, object_id)


# -- assessments ------------------------------------------------------------------------------

async def write_assessment(person_ids: frozenset[uuid.UUID], sheet: sheets.Sheet, office: str | None,
                           uow: UnitOfWork, principal: Principal, access: Access,
                           request: Request) -> dict[str, Any]:
    record = await case_record(uow.conn, uow.municipality, person_ids)
    await _check_write(uow, access, request, principal, record, "assessment", None)
    at, assessment_id = now(), uuid.uuid4()
    await store.add_assessment(uow.conn, {
        "id": assessment_id, "municipality": uow.municipality, "person_ids": sorted(person_ids),
        "office": await _writer_office(uow, principal, record.holders, office),
        "written_by": principal.user_id, "sheet": sheet.model_dump(mode="json"), "created_at": at})
    row = await store.assessment(uow.conn, assessment_id, uow.municipality)
    assert row is not None
    return row


async def _assessment(uow: UnitOfWork, assessment_id: uuid.UUID, access: Access, request: Request,
                      principal: Principal) -> dict[str, Any]:
    row = await store.assessment(uow.conn, assessment_id, uow.municipality, for_update=True)
    if row is None:
        raise not_found("Assessment")
    record = await case_record(uow.conn, uow.municipality, frozenset(row["person_ids"]), row["office"])
    await _check_write(uow, access, request, principal, record, "assessment", str(assessment_id))
    return row


async def complete_assessment(assessment_id: uuid.UUID, sheet: sheets.Sheet | None, uow: UnitOfWork,
                              principal: Principal, access: Access, request: Request) -> dict[str, Any]:
    row = await _assessment(uow, assessment_id, access, request, principal)
    final = sheet or sheets.Sheet.model_validate(row["sheet"])
    sheets.complete(final, row["status"])
    at = now()
    await store.set_assessment(uow.conn, assessment_id, "completed", None, at, final.model_dump(mode="json"))
    uow.record(AssessmentCompleted(assessment_id=assessment_id, person_ids=tuple(row["person_ids"]),
                                   office=row["office"], completed_at=at))
    return {**row, "status": "completed", "sheet": final.model_dump(mode="json"), "changed_at": at}


async def approve_assessment(assessment_id: uuid.UUID, uow: UnitOfWork, principal: Principal,
                             access: Access, request: Request) -> dict[str, Any]:
    row = await _assessment(uow, assessment_id, access, request, principal)
    persons = frozenset(row["person_ids"])
    d = sheets.approval(assessment_id, persons, row["status"],
                        await store.decisions_about(uow.conn, persons))
    await store.set_assessment(uow.conn, assessment_id, "approved", d.decision_id, now())
    return {**row, "status": "approved", "decision_id": d.decision_id}


# -- plans ------------------------------------------------------------------------------------

async def _team_known(uow: UnitOfWork, content: sheets.Content) -> None:
    """Every office of the team is in the directory, and the lead worker staffs the lead office."""
    unknown = await views.unknown_bodies(uow.conn, sorted(content.team()))
    if unknown:
        raise Problem(422, "Unknown office", f"not in the directory (GET /directory): {unknown}")
    if content.lead_agency not in (await views.workplace_of(uow.conn, content.lead_worker)).offices:
        raise Problem(422, "Lead worker not at the lead office",
                      f"the directory does not list {content.lead_worker} at {content.lead_agency}")


async def draft(person_ids: frozenset[uuid.UUID], content: sheets.Content, office: str | None,
                uow: UnitOfWork, principal: Principal, access: Access,
                request: Request) -> uuid.UUID:
    record = await case_record(uow.conn, uow.municipality, person_ids)
    await _check_write(uow, access, request, principal, record, "plan", None)
    await _team_known(uow, content)
    sheets.check_parts(content, person_ids, await store.decisions_about(uow.conn, person_ids))
    at, plan_id = now(), uuid.uuid4()
    writer = await _writer_office(uow, principal, record.holders, office)
    team = sorted(content.team())
    await store.add_plan(uow.conn, {"id": plan_id, "municipality": uow.municipality,
                                    "person_ids": sorted(person_ids), "office": writer,
                                    "lead_agency": content.lead_agency,
                                    "lead_worker": content.lead_worker, "team": team, "created_at": at})
    await store.add_version(uow.conn, plan_id, 1, content.model_dump(mode="json"), principal.user_id, at)
    uow.record(PlanDrafted(plan_id=plan_id, version=1, person_ids=tuple(sorted(person_ids)),
                           office=writer, lead_agency=content.lead_agency,
                           lead_worker=content.lead_worker, team_agencies=tuple(team), drafted_at=at))
    return plan_id


async def _plan(uow: UnitOfWork, plan_id: uuid.UUID, access: Access, request: Request,
                principal: Principal) -> tuple[list[dict[str, Any]], domain.Plan]:
    """The plan, locked, once the user is allowed to write to it as a holder."""
    row = await store.plan_row(uow.conn, plan_id, uow.municipality, for_update=True)
    if row is None:
        raise not_found("Plan")
    record = await case_record(uow.conn, uow.municipality, frozenset(row["person_ids"]), row["office"])
    await _check_write(uow, access, request, principal, record, "plan", str(plan_id))
    vs = await store.versions(uow.conn, plan_id)
    return vs, store.plan_of(row, vs)


async def revise(plan_id: uuid.UUID, content: sheets.Content, uow: UnitOfWork, principal: Principal,
                 access: Access, request: Request) -> None:
    _, plan = await _plan(uow, plan_id, access, request, principal)
    await _team_known(uow, content)
    sheets.check_parts(content, plan.person_ids, await store.decisions_about(uow.conn, plan.person_ids))
    at = now()
    revised, event = domain.review(plan, at)
    await store.add_version(uow.conn, plan_id, revised.latest, content.model_dump(mode="json"),
                            principal.user_id, at)
    await store.save(uow.conn, revised, await store.versions(uow.conn, plan_id), at)
    if event:
        uow.record(event)


async def approve(plan_id: uuid.UUID, uow: UnitOfWork, principal: Principal, access: Access,
                  request: Request) -> None:
    vs, plan = await _plan(uow, plan_id, access, request, principal)
    approved, d = domain.approve(plan, await store.decisions_about(uow.conn, plan.person_ids))
    await apply_approval(uow, vs, approved, d)


async def apply_approval(uow: UnitOfWork, vs: list[dict[str, Any]], plan: domain.Plan,
                         d: domain.Decision) -> None:
    """The approved version is in force: its lead leads (the ledger), its review dates run."""
    at = now()
    lead = await store.save(uow.conn, plan, vs, at)
    uow.record(domain.approved_event(plan, d, lead, at))
    content = {v["version"]: v["content"] for v in vs}[d.plan_version or plan.latest]
    for person_id in sorted(plan.person_ids):
        await record_lead(uow, person_id, Entry(*lead, d.decided_at, d.decision_id, plan.id))
    due = [ledger.review_due(date.fromisoformat(d)) for d in content["review_dates"]]
    await ledger_store.add_timers(uow.conn, uow.municipality, plan.id, "review", plan.in_force or 1,
                                  [t for t in due if t > at])


async def record_lead(uow: UnitOfWork, person_id: uuid.UUID, entry: Entry,
                      previous: Entry | None = None) -> None:
    """Put a lead into the ledger; LeadChanged when it changes who leads."""
    before = previous or ledger.lead_at(await ledger_store.entries(uow.conn, person_id), entry.effective_at)
    if not await ledger_store.add_entry(uow.conn, uow.municipality, person_id, entry, now()):
        return
    if before and (before.lead_agency, before.lead_worker) == (entry.lead_agency, entry.lead_worker):
        return
    uow.record(LeadChanged(person_id=person_id, lead_agency=entry.lead_agency,
                           lead_worker=entry.lead_worker,
                           previous_agency=before.lead_agency if before else None,
                           previous_worker=before.lead_worker if before else None,
                           decision_id=entry.decision_id, plan_id=entry.plan_id,
                           effective_at=entry.effective_at))


async def close(plan_id: uuid.UUID, why: str, uow: UnitOfWork, principal: Principal, access: Access,
                request: Request) -> None:
    vs, plan = await _plan(uow, plan_id, access, request, principal)
    at = now()
    closed, event = domain.close(plan, await store.decisions_about(uow.conn, plan.person_ids), at)
    await store.save(uow.conn, closed, vs, at, evaluation_why=why)
    uow.record(event)
    await ledger_store.drop_timers(uow.conn, plan_id, "review")
    await ledger_store.add_timers(uow.conn, uow.municipality, plan_id, "connection",
                                  closed.in_force or closed.latest, ledger.connection_checks(at))


async def add_note(plan_id: uuid.UUID, text: str, office: str | None, uow: UnitOfWork,
                   principal: Principal, access: Access, request: Request) -> dict[str, Any]:
    row = await store.plan_row(uow.conn, plan_id, uow.municipality, for_update=True)
    if row is None:
        raise not_found("Plan")
    record = await case_record(uow.conn, uow.municipality, frozenset(row["person_ids"]), row["office"],
                               frozenset(row["team"]))
    await _check_write(uow, access, request, principal, record, "progress_note", str(plan_id))
    writer = await _writer_office(uow, principal, record.holders | record.team, office)
    vs = await store.versions(uow.conn, plan_id)
    at = now()
    plan, event = domain.record_progress(store.plan_of(row, vs), writer, at)
    await store.add_entry(uow.conn, event.entry_id, plan_id, plan.in_force or 1, writer,
                          principal.user_id, text, at)
    await store.save(uow.conn, plan, vs, at)
    uow.record(event)
    return {"id": event.entry_id, "version": plan.in_force, "office": writer,
            "written_by": principal.user_id, "body": text, "recorded_at": at}
