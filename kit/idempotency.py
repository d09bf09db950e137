"""`Idempotency-Key` on writes: a repeat answers the first result and changes nothing.

A client that saw an error (a 500 while the database restarted, a reset as the service died)
cannot know whether its request took effect; it repeats it with the same key. Keys are scoped by
user and kept for idempotency_keep_hours.

- The claim (user, key, fingerprint of method, path and body) is inserted by the unit of work in
  the transaction of the state change (`UnitOfWork.commit`): it exists if and only if the change
  does. Two concurrent requests with one key meet on the primary key; the second waits for the
  first's transaction, finds the claim and rolls its own work back.
- The response is stored after the route returns (the middleware below). A repeat answers it,
  with the same status and body. A repeat that finds the claim without a response waits for it
  (the first is still finishing) up to idempotency_wait_seconds, then answers 409: the first
  request took effect but its response was lost (the process died in between).
- The same key with another body is refused (422). A request that failed before its commit left
  no claim: repeating it runs it again.

Nothing of a request or its answer is readable at rest, though both carry residents' data (a
name, kana, a phone number, a complaint) for a day: the fingerprint is an HMAC under a key
derived from the `data_key` setting (a guessed request cannot be checked against it), and the
answer is sealed (kit/sealing.py) under a key derived from that setting AND the request itself
(user, key, method, path, body). Only the user repeating the very request opens it; a dump of the
database does not, nor one with the setting short of guessing each whole request. Sealing
rather than keeping only the created resource's id and reading it again on a repeat: a repeat
must answer what the first request answered (its status and body, also for commands that
create nothing), not today's state of the record, and the answer only goes back to who sent the
request that produced it.

Routes need nothing of their own: every route that writes through `UowDep` takes part.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit import db, sealing
from kit.problems import Problem, problem_response
from kit.settings import ServiceSettings

HEADER = "Idempotency-Key"
_KEPT_HEADERS = ("content-type", "location")

# No row back: another request holds the key (a unit of work folds this into its commit's one
# statement, kit/uow.py).
TAKE = """
INSERT INTO idempotency_keys (user_id, key, fingerprint, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
ON CONFLICT (user_id, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, created_at = now(), expires_at = EXCLUDED.expires_at,
        status = NULL, headers = NULL, body = NULL
    WHERE idempotency_keys.expires_at <= now()
RETURNING 1
"""
_FIND = """
SELECT fingerprint, status, headers, body FROM idempotency_keys
WHERE user_id = $1 AND key = $2 AND expires_at > now()
"""
_ANSWER = """
UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 WHERE user_id = $1 AND key = $2
"""
_PURGE = "DELETE FROM idempotency_keys WHERE expires_at <= now()"


@dataclass
class Claim:
    user_id: str
    key: str
    fingerprint: str
    keep: timedelta
    answer_key: bytes  # seals the answer: derived from the data key and this very request
    taken: bool = False  # inserted in the transaction of the state change

    @property
    def bound_to(self) -> bytes:
        return f"{self.user_id}\x00{self.key}".encode()


class Repeated(Exception):
    """The key was claimed by an earlier request: answer that request's result instead."""

    def __init__(self, claim: Claim) -> None:
        super().__init__(claim.key)
        self.claim = claim


async def claim_for(request: Request, user_id: str, settings: ServiceSettings) -> Claim | None:
    """The request's claim, or None without the header; raises Repeated for a known key."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise Problem(400, "Invalid Idempotency-Key", "1 to 200 printable characters.",
                      type_="urn:tsunagu:problem:idempotency-key")
    keys: _Keys = request.app.state.idempotency_keys
    canonical = await _canonical(request)
    claim = Claim(user_id, key, hmac.new(keys.fingerprint, canonical, hashlib.sha256).hexdigest(),
                  timedelta(hours=settings.idempotency_keep_hours),
                  sealing.subkey(keys.answer, user_id.encode(), key.encode(), canonical))
    if await request.app.state.pool.fetchrow(_FIND, user_id, key) is not None:
        raise Repeated(claim)  # known already: do not even run the route
    request.state.idempotency = claim
    return claim


def take_args(claim: Claim) -> tuple[str, str, str, timedelta]:
    """TAKE's parameters."""
    return claim.user_id, claim.key, claim.fingerprint, claim.keep


@dataclass(frozen=True)
class _Keys:
    fingerprint: bytes
    answer: bytes


async def _canonical(request: Request) -> bytes:
    body = await request.body()
    try:  # the same JSON however it is spaced or ordered
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        pass
    return f"{request.method} {request.url.path}\n".encode() + body


async def _replay(request: Request, claim: Claim) -> Response:
    settings: ServiceSettings = request.app.state.settings
    pool: asyncpg.Pool = request.app.state.pool
    deadline = time.monotonic() + settings.idempotency_wait_seconds
    while True:
        row = await pool.fetchrow(_FIND, claim.user_id, claim.key)
        # NULL: a key kept before answers were sealed (kit migration 0009); answered 409 below.
        if row is not None and row["fingerprint"] not in (claim.fingerprint, None):
            return problem_response(
                422, "Idempotency-Key reused", "This key was used for a different request; "
                "use a new key for a new request.", type_="urn:tsunagu:problem:idempotency-key",
                instance=request.url.path)
        if row is not None and row["status"] is not None:
            try:
                body = sealing.unseal(claim.answer_key, bytes(row["body"]), claim.bound_to)
            except ValueError:  # sealed under a data key since changed: as if not kept
                break
            await _audit_replay(request, row["headers"].get("location"))
            return Response(body, status_code=row["status"],
                            headers={**row["headers"], "Idempotent-Replayed": "true"})
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return problem_response(
        409, "Request already applied", "A request with this Idempotency-Key took effect "
        "but its response was not kept (the service stopped in between, or it is still "
        "finishing); read the resource instead of repeating.",
        type_="urn:tsunagu:problem:idempotency-unanswered", instance=request.url.path)


async def _audit_replay(request: Request, location: str | None) -> None:
    """A kept answer goes back only to the user who sent the very request (the key it is sealed
    under needs both), yet it carries what the write read out (a name, a complaint): like every
    read it is on record, committed before it answers. The record names the resource the write
    made (its Location) or the path written to."""
    principal = request.scope["state"]["principal"]  # signed in before the claim was looked up
    settings: ServiceSettings = request.app.state.settings
    pool: asyncpg.Pool = request.app.state.pool
    conn = await db.acquire(pool, settings.pool_acquire_timeout_seconds, request.app.state.acquires)
    try:
        await request.app.state.access.audit_only(
            conn, principal, "read", "idempotent_answer",
            location or f"{request.method} {request.url.path}",
            reason="the answer kept for a repeated request (Idempotency-Key), to the user who "
            "sent it")
    finally:
        await pool.release(conn)


def install(app: FastAPI) -> None:
    settings: ServiceSettings = app.state.settings  # no data key: the service does not start
    app.state.idempotency_keys = _Keys(sealing.key_for(settings, "idempotency fingerprint"),
                                       sealing.key_for(settings, "idempotency answer"))

    @app.exception_handler(Repeated)
    async def _repeated(request: Request, exc: Repeated) -> Response:
        return await _replay(request, exc.claim)

    app.add_middleware(_KeepResponse)


class _KeepResponse:
    """ASGI middleware: stores the response of a request whose claim its commit took (a pure
    ASGI one: no task and no Response object per request, as `@app.middleware` costs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def keeping(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                claim: Claim | None = scope.get("state", {}).get("idempotency")
                if claim is not None and claim.taken and message["status"] < 500:
                    start = message  # held until the body is complete and kept
                    return
            if start is None:
                await send(message)  # a 5xx after the commit is not kept: the repeat gets 409
                return
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _keep(scope, start, b"".join(body))
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(body)})

        await self.app(scope, receive, keeping)


async def _keep(scope: Scope, start: Message, body: bytes) -> None:
    claim: Claim = scope["state"]["idempotency"]
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", [])
               if k.decode("latin-1").lower() in _KEPT_HEADERS}
    try:
        await scope["app"].state.pool.execute(_ANSWER, claim.user_id, claim.key, start["status"],
                                              headers, sealing.seal(claim.answer_key, body,
                                                                    claim.bound_to))
    except Exception:  # the effect stands; a repeat will answer 409 instead of the body
        pass


async def purge(new_uow: Callable[[], Any]) -> None:
    """Forget expired keys (a periodic job of every service)."""
    async with new_uow() as uow:
        await uow.conn.execute(_PURGE)
        await uow.commit()
