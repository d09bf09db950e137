"""/healthz, /readyz and /metrics: the same on every service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kit import audit

router = APIRouter(tags=["operations"])

_BACKLOG = """
SELECT count(*) FILTER (WHERE parked_at IS NULL) AS n,
       coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)), 0)
           AS age,
       count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked
FROM outbox WHERE published_at IS NULL
"""


@router.get("/healthz", summary="The process can still serve (else: replace it)")
async def healthz(request: Request) -> JSONResponse:
    # Answering at all proves the event loop turns; a starved pool (kit/db.py AcquireWatch)
    # means requests can no longer get a connection however long they wait. A database that is
    # merely away is /readyz's business: restarting would not bring it back.
    starved = request.app.state.acquires.starved_for()
    if starved is not None:
        return JSONResponse({"status": "starved", "detail": f"no database connection acquired "
                             f"for {starved:.0f} s while requests timed out waiting"},
                            status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="The database is reachable (the broker and the outbox are reported)")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    relay = getattr(state, "relay", None)
    body: dict[str, Any] = {"service": state.settings.service,
                            "broker": relay.state if relay else "unknown",
                            "relay": ("active" if relay.holds_lock else "standby") if relay
                            else "unknown",
                            "database": "unknown"}
    try:
        async with state.pool.acquire(timeout=2) as conn:
            row = await conn.fetchrow(_BACKLOG)
            tail = await conn.fetchrow(audit.QUEUED)
        body["database"] = "ok"
        # What waits to leave: a growing age means the relay is stuck or the broker away;
        # parked rows wait for an operator.
        body["outbox"] = {"backlog": row["n"], "oldest_age_seconds": round(float(row["age"]), 1),
                          "parked": row["parked"]}
        # Audit records committed but not chained yet: an age growing past a few seconds means
        # no instance runs the chainer (kit/audit.py).
        body["audit_unchained"] = {"count": tail["n"],
                                   "oldest_age_seconds": round(tail["age"], 1)}
    except Exception as exc:
        body["database"] = f"unavailable: {type(exc).__name__}"
        return JSONResponse(body, status_code=503)
    # The outbox holds events while the broker is away, so the broker is not required.
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    m = state.metrics
    try:
        async with state.pool.acquire(timeout=2) as conn:
            row = await conn.fetchrow(_BACKLOG)
            m.outbox_backlog.set(row["n"])
            m.outbox_oldest_age.set(float(row["age"]))
            m.outbox_parked_stored.set(row["parked"])
            tail = await conn.fetchrow(audit.QUEUED)
            m.audit_unchained.set(tail["n"])
            m.audit_unchained_oldest_age.set(tail["age"])
            m.dead_letters_stored.set(await conn.fetchval(
                "SELECT count(*) FROM dead_letters WHERE status = 'dead'"))
        m.database_reachable.set(1)
    except Exception:
        m.database_reachable.set(0)
    m.pool_starved_seconds.set(state.acquires.starved_for() or 0)
    relay = getattr(state, "relay", None)
    if relay is not None:
        m.outbox_published.set(relay.published)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
