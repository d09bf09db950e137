"""What referral does besides answering requests.

Consumed: ConsultationReceived (its routing facts, and a routing task for the receiving office,
which joins the referral lifecycle like any referral); MeetingDecided start_participation_support
(参加支援 for each person, run by the decision's lead agency or REFERRAL_PARTICIPATION_OFFICE)
and DecisionCorrected (a superseded decision's participation support no longer stands, unless
the correction decides it again: then it goes on under the new decision).
Periodic: read the directory file an operator edits and publish each change as
DirectoryChanged, so every service's view (kit/views.py) follows it. An unreadable or
inconsistent file is logged and the last good revision stays in force.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from contracts.events.intake import ConsultationReceived
from contracts.events.meetings import DecisionCorrected, MeetingDecided
from kit import outbox, views
from kit.clock import now
from kit.inbox import HandlerContext, Handlers, Staged
from kit.periodic import NewUow, Periodic
from kit.uow import UnitOfWork

from . import domain, store, timers
from .store import participation as participations

DIRECTORY_FILE = Path(os.environ.get("REFERRAL_DIRECTORY_FILE",
                                     Path(__file__).with_name("directory.json")))
RELOAD_SECONDS = float(os.environ.get("REFERRAL_DIRECTORY_RELOAD_SECONDS", "60"))
REPUBLISH_AFTER = timedelta(days=7)  # streams keep 30 days (infra/kafka/topics.json)
# In 福生市 participation support is the 社協's coordinator's (plan ch. 3: 福祉センター内 1名).
PARTICIPATION_OFFICE = os.environ.get("REFERRAL_PARTICIPATION_OFFICE", "shakyo")


async def _stage_consultation(event: ConsultationReceived, ctx: HandlerContext) -> store.Kept:
    referral = domain.open_routing_task(event, now(), timers.ANSWER_DAYS)
    # kept so that a referral is made from it later without retyping anything (with the task and
    # its events, enveloped here in the event's span as the unit of work would)
    events = outbox.rows_for(referral.events, ctx.uow.service, ctx.uow.municipality) \
        if referral is not None else []
    return store.kept(event, ctx.envelope.municipality, referral, events)


async def _add_consultations(kept: list[store.Kept], uow: UnitOfWork) -> None:
    await store.add_consultations(uow.conn, kept)


# Staged: a fetch of many consultations writes them in one round trip (kit/inbox.py).
on_consultation_received = Staged(_stage_consultation, _add_consultations)


def _parsed(raw: bytes) -> tuple[domain.DirectoryFile, dict[str, Any], str]:
    """The file validated, its body and its canonical digest."""
    directory = domain.DirectoryFile.model_validate_json(raw)
    return (directory, directory.model_dump(mode="json"),
            hashlib.sha256(directory.model_dump_json().encode()).hexdigest())


@lru_cache(maxsize=1)
def _digest(raw: bytes) -> str:
    """The file's digest, worked out again only when its bytes changed: validating thousands of
    offices holds referral's event loop for tens of milliseconds, and the file is read every
    RELOAD_SECONDS while it rarely changes. Only the digest is kept, not the validated file:
    its tens of thousands of objects would be walked by every full collection of the cyclic
    collector (~25 ms at 4,800 offices); the file is validated again when it is published."""
    return _parsed(raw)[2]


async def publish_directory(new_uow: NewUow) -> None:
    raw = await asyncio.to_thread(DIRECTORY_FILE.read_bytes)
    digest = _digest(raw)
    async with new_uow() as uow:
        await store.lock_directory(uow.conn)
        latest = await store.latest_directory(uow.conn, uow.municipality, with_body=False)
        at = now()
        if latest is None or latest["digest"] != digest:
            directory, body, _ = _parsed(raw)
            changed = domain.directory_changed(directory, (latest or {"revision": 0})["revision"] + 1, at)
            await store.add_directory(uow.conn, changed.revision, uow.municipality, digest, body, at)
            await views.apply_directory(uow.conn, changed, uow.municipality)  # its own view: at once
        elif at - latest["published_at"] > REPUBLISH_AFTER:
            # The same revision again, well within the topic's retention, so that a service
            # deployed later still finds the directory (views ignore a revision they hold).
            changed = domain.directory_changed(_parsed(raw)[0], latest["revision"], at)
            await store.touch_directory(uow.conn, latest["revision"], uow.municipality, at)
        else:
            return
        uow.record(changed)
        await uow.commit()


async def on_meeting_decided(event: MeetingDecided, ctx: HandlerContext) -> None:
    # Only a 重層的支援会議 (consented cases): a placement shares the person with a host, which a
    # 支援会議's decision about someone who has not consented cannot carry.
    if event.meeting_kind != "multilayer_meeting":
        return
    if event.kind != "start_participation_support":
        return
    conn = ctx.uow.conn
    if event.supersedes is not None:  # DecisionCorrected ends those of persons it leaves out
        await participations.repoint(conn, event.supersedes, event.decision_id, event.need_codes,
                                     event.person_ids)
    for person_id in event.person_ids:  # once each: unique by decision and person
        await participations.start(conn, ctx.envelope.municipality, uuid.uuid4(), person_id,
                                   event.lead_agency or PARTICIPATION_OFFICE,
                                   f"meeting:{event.meeting_id}", event.decision_id,
                                   event.need_codes, event.decided_at)


async def on_decision_corrected(event: DecisionCorrected, ctx: HandlerContext) -> None:
    await participations.supersede(ctx.uow.conn, event.decision_id, event.corrected_at)


HANDLERS: Handlers = {ConsultationReceived: [on_consultation_received],
                      MeetingDecided: [on_meeting_decided],
                      DecisionCorrected: [on_decision_corrected]}
PERIODIC = (Periodic("publish the directory", RELOAD_SECONDS, publish_directory), timers.PERIODIC,
            timers.FOLLOW_UPS)
