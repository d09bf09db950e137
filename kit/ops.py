"""/healthz, /readyz and /metrics: the same on every service."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["operations"])

_BACKLOG = """
SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age
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


@router.get("/readyz", summary="The database is reachable (the broker is reported, not required)")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    relay = getattr(state, "relay", None)
    body = {"service": state.settings.service,
            "broker": relay.state if relay else "unknown",
            "database": "unknown"}
    try:
        async with state.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
        body["database"] = "ok"
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
            m.dead_letters_stored.set(await conn.fetchval("SELECT count(*) FROM dead_letters"))
    except Exception:
        pass
    relay = getattr(state, "relay", None)
    if relay is not None:
        m.outbox_published.set(relay.published)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
