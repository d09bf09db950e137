"""referral's commands: one function each, deciding and auditing on the route's unit of work."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request

from kit import holders, views
from kit.access import Access
from kit.clock import now
from kit.policy import Record
from kit.principal import Principal
from kit.problems import Problem
from kit.uow import UnitOfWork

from .. import domain, store, timers


def _not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", type_="urn:tsunagu:problem:not-found")


async def refer(consultation_id: uuid.UUID, to_office: str, reason: domain.Reason,
                from_office: str | None, escalated_from: uuid.UUID | None, uow: UnitOfWork,
                principal: Principal, access: Access, request: Request) -> dict[str, Any]:
    """A holder hands an existing consultation to an office of the directory (or up the ladder)."""
    m = uow.municipality
    await access.staff_only(uow, principal, "disclose", "consultation", str(consultation_id))
    c = await store.consultation(uow.conn, consultation_id, m)
    if c is None:
        raise _not_found("Consultation")
    held = holders.of_consultation(c["receiving_division"], c["destination_kind"],
                                   c["destination_agency"])
    held |= await store.live_offices(uow.conn, consultation_id, m)
    record = Record(municipality=m, holders=held, person_ids=frozenset(c["person_ids"]))
    await access.check(uow, request, principal, record, "disclose", "consultation", str(consultation_id))
    mine = sorted((await views.workplace_of(uow.conn, principal.user_id)).offices & held)
    if from_office is None and len(mine) != 1:
        raise Problem(422, "Which office refers?", f"name from_office, one of {mine}")
    if from_office is not None and from_office not in mine:
        raise Problem(422, "Not your holding office", f"from_office must be one of {mine}")
    referrer = from_office or mine[0]
    if escalated_from is not None:
        before = await store.get(uow.conn, escalated_from, m)
        if before is None or before["to_agency"] != referrer or before["consultation_id"] != consultation_id:
            raise Problem(422, "Not your referral", "escalated_from must be a referral of this "
                          "consultation that reached the referring office")
    to = await views.office(uow.conn, to_office)
    if to is None:
        raise Problem(422, "Unknown office", f"{to_office} is not in the directory (GET /directory)")
    try:
        referral = domain.refer(consultation_id, tuple(c["person_ids"]), tuple(c["categories"]),
                                c["urgency"], referrer, to, reason, principal.user_id,
                                await views.consents_for(uow.conn, c["person_ids"]), now(),
                                escalated_from, timers.ANSWER_DAYS)
    except domain.NotCovered as exc:  # refused, on record, with the ways forward
        await access.require(uow, principal, False, "disclose", "referral", str(consultation_id), str(exc))
        raise
    except domain.ReferralRuleBroken as exc:
        raise Problem(422, "Invalid referral", str(exc)) from exc
    if not await store.add(uow.conn, referral, m):
        raise Problem(409, "Already referred", f"this consultation has a live referral to {to_office}")
    uow.record(*referral.events)
    row = await store.get(uow.conn, referral.id, m)
    assert row is not None
    return row


async def move(referral_id: uuid.UUID, action: domain.Action, uow: UnitOfWork, principal: Principal,
               access: Access, decline_reason: domain.DeclineReason | None = None,
               outcome: domain.Outcome | None = None) -> dict[str, Any]:
    """Only the receiving office answers and progresses; only the referrer's office withdraws."""
    m = uow.municipality
    await access.staff_only(uow, principal, "write", "referral", str(referral_id))
    row = await store.get(uow.conn, referral_id, m, for_update=True)
    if row is None:
        raise _not_found("Referral")
    offices = (await views.workplace_of(uow.conn, principal.user_id)).offices
    receiver = action in domain.RECEIVER_ACTIONS
    side = row["to_agency"] if receiver else row["from_division"]
    await access.require(uow, principal, side in offices, "write", "referral", str(referral_id),
                         ONLY_RECEIVER if receiver else ONLY_REFERRER)
    at = now()
    try:
        status, event = domain.move(referral_id, row["consultation_id"], row["from_division"],
                                    row["to_agency"], row["status"], action, at,
                                    decline_reason, outcome, row["outcome"] is not None)
    except domain.ReferralRuleBroken as exc:
        raise Problem(409, "Not in that state", str(exc)) from exc
    await access.audit_only(uow, principal, "write", "referral", str(referral_id),
                            tuple(row["person_ids"]), reason=f"{action}: the user's own office")
    follow_up = (domain.follow_up_due(at, timers.FOLLOW_UP_DAYS)
                 if status == "completed" and outcome is None else None)
    await store.move(uow.conn, referral_id, m, status, at, decline_reason, outcome, follow_up)
    uow.record(event)
    moved = await store.get(uow.conn, referral_id, m)
    assert moved is not None
    return moved


ONLY_RECEIVER = ("つなぎ先の窓口の職員だけが受理・辞退・進捗・完了を記録できます / only the receiving "
                 "office's staff answer and progress a referral")
ONLY_REFERRER = ("取り下げられるのはつないだ窓口の職員だけです / only the referring office "
                 "withdraws a referral")
