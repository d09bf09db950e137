"""An operator mends what got stuck: an event whose handler fails on data not yet fixed is
dead-lettered, listed, replayed after the fix (its effect once), or discarded with a reason; an
outbox row the relay parked is re-queued and sent. Only operators may, and every call is audited.

The failure is the database's: a trigger in plans' database refuses the consent view's rows of
the poisoned consents (as a constraint a later migration relaxes would), and counts each row it
lets through, so "once" is counted, not inferred."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope
from contracts.events.intake import ConsentGranted
from contracts.registry import spec_for
from infra.local import databases
from infra.local.stack import Stack
from kit import db, outbox
from tests.helpers import bearer, eventually

SERVICE = "plans"
_POISON = """
CREATE TABLE IF NOT EXISTS mending_poisoned (consent_id uuid PRIMARY KEY);
CREATE TABLE IF NOT EXISTS mending_applied (consent_id uuid NOT NULL);
CREATE OR REPLACE FUNCTION mending_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM mending_poisoned WHERE consent_id = NEW.consent_id) THEN
        RAISE EXCEPTION 'consent % refused: data not yet fixed', NEW.consent_id;
    END IF;
    INSERT INTO mending_applied VALUES (NEW.consent_id);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS mending_check ON consent_view;
CREATE TRIGGER mending_check BEFORE INSERT ON consent_view FOR EACH ROW EXECUTE FUNCTION mending_check();
"""


def _granted() -> ConsentGranted:
    return ConsentGranted(consent_id=uuid.uuid4(), person_id=uuid.uuid4(), agencies=("konkyu",),
                          purposes=("support",), valid_from=datetime.now(UTC))


def _envelope(event: ConsentGranted) -> Envelope:
    spec = spec_for(ConsentGranted)
    return Envelope(id=uuid.uuid4(), type=spec.ce_type, source="/tsunagu/intake",
                    time=datetime.now(UTC), subject=str(event.consent_id),
                    dataschema=spec.dataschema, sensitivity="personal", municipality="132187")


async def _owner(stack: Stack, service: str) -> asyncpg.Connection:
    return await db.connect(databases.owner_dsn(stack.postgres_port, service))


async def test_a_dead_letter_is_listed_replayed_once_after_the_fix_or_discarded(
        stack: Stack, http: httpx.AsyncClient) -> None:
    plans = await _owner(stack, SERVICE)
    fixed, dropped = _granted(), _granted()
    envelopes = {e.consent_id: _envelope(e) for e in (fixed, dropped)}
    try:
        await plans.execute(_POISON)
        await plans.executemany("INSERT INTO mending_poisoned VALUES ($1)",
                                [(fixed.consent_id,), (dropped.consent_id,)])
        producer = AIOKafkaProducer(**stack.kafka.client("intake"))
        await producer.start()
        try:
            for event in (fixed, dropped):
                await producer.send_and_wait(
                    "intake.events", event.model_dump_json().encode(),
                    key=str(event.consent_id).encode(),
                    headers=envelopes[event.consent_id].headers())
        finally:
            await producer.stop()

        base, ops = stack.url(SERVICE) + "/operators", bearer(stack.token("ops-1"))
        ids = {str(envelopes[c].id): c for c in envelopes}

        async def listed() -> dict[uuid.UUID, dict[str, Any]] | None:
            answer = await http.get(base + "/dead-letters", headers=ops,
                                    params={"consumer": SERVICE})
            assert answer.status_code == 200, answer.text
            mine = {ids[d["message_id"]]: d for d in answer.json() if d["message_id"] in ids}
            return mine if len(mine) == 2 else None

        dead = await eventually(listed, what="both events dead-lettered in plans")
        one = dead[fixed.consent_id]
        assert one["event_type"] == spec_for(ConsentGranted).ce_type
        assert one["attempts"] == 3 and one["status"] == "dead"
        assert "data not yet fixed" in one["reason"]
        assert one["topic"] == "intake.events"

        # Nobody else may look or mend: staff, the auditor.
        for user in ("w-kaigo", "auditor-1"):
            for call in (http.get(base + "/dead-letters", headers=bearer(stack.token(user))),
                         http.post(base + f"/dead-letters/{one['id']}/replay",
                                   headers=bearer(stack.token(user)))):
                assert (await call).status_code == 403, user

        shown = await http.get(base + f"/dead-letters/{one['id']}", headers=ops)
        assert shown.status_code == 200
        assert shown.json()["headers"]["ce_id"] == str(envelopes[fixed.consent_id].id)
        assert str(fixed.consent_id) in shown.json()["value"]

        # The fix, then the replay: applied once, however often the operator presses replay.
        await plans.execute("DELETE FROM mending_poisoned WHERE consent_id = $1", fixed.consent_id)
        replayed = await http.post(base + f"/dead-letters/{one['id']}/replay", headers=ops)
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {"replayed": [one["id"]], "failed": {}}
        again = await http.post(base + f"/dead-letters/{one['id']}/replay", headers=ops)
        assert again.status_code == 409
        other = dead[dropped.consent_id]
        everything = await http.post(base + "/dead-letters/replay", headers=ops)
        assert one["id"] not in everything.json()["replayed"]
        assert "data not yet fixed" in everything.json()["failed"][str(other["id"])]

        assert await plans.fetchval("SELECT count(*) FROM mending_applied WHERE consent_id = $1",
                                    fixed.consent_id) == 1
        assert await plans.fetchval("SELECT count(*) FROM consent_view WHERE consent_id = $1",
                                    fixed.consent_id) == 1
        after = (await http.get(base + f"/dead-letters/{one['id']}", headers=ops)).json()
        assert (after["status"], after["resolved_by"]) == ("replayed", "ops-1")

        # The other is given up on, with the reason; it stays failed again, never applied.
        still = (await http.get(base + f"/dead-letters/{other['id']}", headers=ops)).json()
        assert still["attempts"] == 4 and still["last_failed_at"] > still["dead_lettered_at"]
        discarded = await _make_deadletters(stack, "--discard", str(other["id"]), "--reason",
                                            "同意は窓口で取り直し済み / re-recorded")
        assert (discarded["status"], discarded["resolution"]) == (
            "discarded", "同意は窓口で取り直し済み / re-recorded")
        assert (await http.post(base + "/dead-letters/replay", headers=ops)).json()[
            "replayed"] == []
        assert await plans.fetchval("SELECT count(*) FROM consent_view WHERE consent_id = $1",
                                    dropped.consent_id) == 0

        audited = await plans.fetch(
            "SELECT action, object_type, outcome FROM audit_events WHERE object_type LIKE "
            "'dead_letter%' AND (object_id = $1 OR object_id = $2)", str(one["id"]),
            str(other["id"]))
        outcomes = {(r["action"], r["outcome"]) for r in audited}
        assert {("read", "permitted"), ("write", "permitted"), ("write", "denied")} <= outcomes
    finally:
        await plans.execute("DROP TRIGGER IF EXISTS mending_check ON consent_view")
        await plans.close()


async def _make_deadletters(stack: Stack, *args: str) -> Any:
    """What `make deadletters SERVICE=plans …` runs, pointed at the test stack."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "infra.local.mending", SERVICE, *args, "--url", stack.url(SERVICE),
        "--key", str(stack.idp_key), stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    return json.loads(out)


async def test_a_parked_outbox_row_is_listed_and_sent_again(stack: Stack,
                                                            http: httpx.AsyncClient) -> None:
    event = _granted()
    intake = await _owner(stack, "intake")
    try:
        async with intake.transaction():  # parked before the relay could see it
            await outbox.write(intake, [event], "intake", "132187")
            seq = await intake.fetchval(
                "UPDATE outbox SET parked_at = now(), park_reason = $1 WHERE seq = "
                "(SELECT max(seq) FROM outbox) RETURNING seq", "refused (test)")
        base, ops = stack.url("intake") + "/operators", bearer(stack.token("ops-1"))
        assert (await http.get(base + "/outbox/parked",
                               headers=bearer(stack.token("w-kaigo")))).status_code == 403
        parked = (await http.get(base + "/outbox/parked", headers=ops)).json()
        assert [p["park_reason"] for p in parked if p["seq"] == seq] == ["refused (test)"]

        requeued = await http.post(base + f"/outbox/parked/{seq}/replay", headers=ops)
        assert requeued.json() == {"requeued": 1}

        async def sent() -> bool:
            return bool(await intake.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE seq = $1",
                                              seq))
        await eventually(sent, what="the re-queued row published")
    finally:
        await intake.close()
