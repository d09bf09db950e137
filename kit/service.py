"""Build a service's FastAPI app: the one composition every services/<pillar>/app.py calls.

Start-up: logs, tracing, pool, migrations, the outbox relay, and the inbox consumers (the main
lane, and the views lane when some topic feeds only the kit's views: `lanes`). Shut-down
(SIGTERM; uvicorn first drains HTTP requests): each consumer finishes the events in hand and
commits, the relay finishes its batch, then the pool closes.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, FastAPI
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp

from contracts.envelope import EventData
from contracts.registry import spec_for
from kit import audit, audit_api, docs, idempotency, kafka, operators_api, ops, problems, views
from kit.access import Access
from kit.audit_writer import AuditWriter
from kit.auth import TokenVerifier
from kit.db import AcquireWatch, connect, create_pool
from kit.edge import Edge
from kit.inbox import Handlers, InboxConsumer
from kit.lean import LeanRoutes
from kit.limits import BodyLimit, clean_parameters
from kit.logging import setup_logging
from kit.metrics import Metrics
from kit.migrate import migrate
from kit.periodic import Periodic, PeriodicRunner
from kit.relay import OutboxRelay
from kit.settings import ServiceSettings, load_settings
from kit.stalls import LoopProbe
from kit.tracing import setup_tracing
from kit.uow import UnitOfWork


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str  # shown in the OpenAPI document (Japanese label first)
    description: str
    router: APIRouter
    migrations: Path
    handlers: Handlers = field(default_factory=dict)
    # Its own event types the service applies to its own views in the very transaction that
    # records them (intake's consents, referral's directory): its consumer does not read them back.
    applied_at_once: tuple[type[EventData], ...] = ()
    periodic: tuple[Periodic, ...] = ()
    on_start: Callable[[FastAPI], None] | None = None  # the service's own app.state


def merge_handlers(*maps: Handlers) -> Handlers:
    """Every handler of every map, in order: a service that handles an event the kit handles
    too (ConsentWithdrawn, say) adds its handler after the kit's, never in place of it."""
    merged: Handlers = {}
    for handlers in maps:
        for event_type, subscribed in handlers.items():
            merged.setdefault(event_type, []).extend(subscribed)
    return merged


YOUNG_COLLECTION_EVERY = 10_000


def settle_heap() -> None:
    """Take what start-up built (modules, routes, models, pools: ~100,000 objects that live as
    long as the process) out of the cyclic collector's sight, once per process. A full
    collection then walks only what requests and events left alive: in intake at 100
    consultations/s it had walked them all every ~8 s, ~100 ms of CPU each, a pause every
    request and event in flight waited through (bench/PROFILE.md, wave 6). Garbage is collected
    first, so nothing unreachable is frozen; what is frozen is never freed, hence once only.

    Then a young collection every YOUNG_COLLECTION_EVERY container allocations instead of 700:
    a request or an event allocates hundreds, most freed by reference counting as soon as it is
    done, but at 700 a collection came several times per request and found the objects of every
    request and event still in flight alive, moving them up to be walked again by the older
    generations. In intake at 100–200/s the collector took 6–11 % of the CPU, 2.5 % with the
    larger threshold (bench/PROFILE.md, wave 9); a young collection of that many objects takes
    about a millisecond."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


def consumed(definition: ServiceDefinition) -> Handlers:
    """The handlers a service's consumer runs: the kit's views and the service's own, but not
    those of its own events that it applied when it recorded them. Reading those back only
    repeated an effect (the inbox made it idempotent), and its own stream then woke its consumer
    for every event on it (intake's for each ConsultationReceived, referral's for each
    ReferralRequested), a broker fetch each at low rates (bench/PROFILE.md): a stream nothing
    else is read from drops out of the subscription."""
    foreign = [t.__name__ for t in definition.applied_at_once
               if spec_for(t).service != definition.name]
    if foreign:  # another service's events reach this one only through the broker
        raise ValueError(f"{definition.name} cannot apply {', '.join(foreign)} at once: "
                         "not its events")
    return {t: h for t, h in merge_handlers(views.HANDLERS, definition.handlers).items()
            if t not in definition.applied_at_once}


def lanes(definition: ServiceDefinition) -> tuple[list[str], list[str]]:
    """The topics of the service's main consumer, and those of its views lane.

    A topic goes to the views lane when no event type the service consumes from it has a
    handler of the service's own (`definition.handlers`, kit/views.py HOLDER_HANDLERS included
    where a service merges them): only kit/views.py's access views follow it (consents, meeting
    members, tabled cases, the directory), and the service's own work never waits on it. The
    main consumer then no longer wakes for each record of it it only skips (notifications for
    every ConsultationReceived, intake for every ReferralRequested: bench/PROFILE.md wave 8);
    the views lane reads it in batches a few times a second (kit/kafka.py VIEWS_FETCH). A topic
    carrying any handler of the service's own stays whole on the main lane, its view events
    with it: nothing the service's handlers read comes later than before.

    What it costs: a view-only topic's events reach the view up to ~1 s later than before (two
    fetch waits, kit/kafka.py). ACCESS.md asks a consent's withdrawal to take effect "within
    seconds"; order across topics was never guaranteed. A later grant or membership refuses
    meanwhile (fail closed); a later withdrawal only where consents are view-only: the topic
    with consents is intake.events, which every reader but notifications handles itself.

    The views lane is a consumer group of its own (kit/kafka.py views_group): in the service's
    group, a second member joining made the first wait for its next heartbeat (3 s at start-up,
    and at every join). On a rolling deploy the new group has no offsets yet: it starts each
    partition where the service's group committed it (kit/kafka.py SeededFrom), and the old
    version's consumer (every topic, service group) and the new lanes apply the same events
    meanwhile, which the inbox (one consumer name for both lanes) makes harmless. A rollback
    re-reads the view-only topics from the service group's last offsets: duplicates only."""
    topics = {t: spec_for(t).topic for t in consumed(definition)}
    own = {topic for t, topic in topics.items() if t in definition.handlers}
    return sorted(own), sorted(set(topics.values()) - own)


def build_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings(definition.name)
    setup_logging(definition.name, settings.log_level)
    provider = setup_tracing(definition.name, settings.zipkin_endpoint)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kafka.connection(settings)  # no broker credentials (or CA file): refuse to start
        app_role = urlparse(settings.database_url).username or ""
        await migrate(settings.migration_database_url or settings.database_url, app_role,
                      definition.name, definition.migrations)
        pool = await create_pool(settings.database_url, settings.pool_max)
        app.state.pool = pool
        writer = AuditWriter(lambda: connect(settings.database_url))
        app.state.access = Access(settings, writer)
        relay = app.state.relay = OutboxRelay(settings, app.state.metrics)
        # Every service keeps its own view of consents and meetings for access decisions. Each
        # lane runs every handler (app.state.consumer's serve an operator's replay of any dead
        # letter); each reads only its own topics.
        handlers = consumed(definition)
        main, viewed = lanes(definition)
        consumer = app.state.consumer = InboxConsumer(pool, settings, handlers, app.state.metrics,
                                                      topics=main)
        consumers = [consumer] if main else []
        if viewed:
            consumers.append(InboxConsumer(pool, settings, handlers, app.state.metrics,
                                           topics=viewed, views=True))
        workers: list[tuple[Callable[[], None], asyncio.Task[None]]] = [
            (c.stop, asyncio.create_task(c.run())) for c in consumers]
        for job in (*definition.periodic, Periodic("idempotency-purge", 600, idempotency.purge),
                    Periodic("audit-chain", audit.CHAIN_EVERY_SECONDS, audit.chain_committed)):
            runner = PeriodicRunner(job, lambda: UnitOfWork(pool, settings.service,
                                                            settings.municipality_code))
            workers.append((runner.stop, asyncio.create_task(runner.run())))
        workers.append((writer.stop, asyncio.create_task(writer.run())))  # its events: relayed
        workers.append((relay.stop, asyncio.create_task(relay.run())))
        probe = LoopProbe(app.state.metrics, settings.loop_probe_seconds,
                          settings.loop_stall_log_seconds)
        workers.append((probe.stop, asyncio.create_task(probe.run())))
        settle_heap()
        try:
            yield
        finally:
            for stop, task in workers:  # consumers first: what they record, the relay still sends
                stop()
                done, _ = await asyncio.wait({task}, timeout=15)
                if not done:
                    task.cancel()
            await pool.close()
            provider.force_flush()

    # FastAPI's own telemetry off: kit/edge.py makes the request's span, after dropping a
    # caller's trace context (FastAPI's would continue it, from outside the middleware stack).
    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0",
                  lifespan=lifespan, docs_url=None, redoc_url=None, dependencies=[Depends(clean_parameters)],
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.acquires = AcquireWatch(settings.pool_starved_after_seconds)
    app.state.verifier = TokenVerifier(settings)
    if definition.on_start:
        definition.on_start(app)
    problems.install(app)
    docs.install(app)
    # The service's routes first: FastAPI 0.163 tries a request against each included router
    # in turn, twice (to match, then to handle), and the kit's (probes, audit, operators) are
    # rarely asked for. No path is both a service's and the kit's.
    app.include_router(definition.router)
    app.include_router(ops.router)
    app.include_router(audit_api.router)
    app.include_router(operators_api.router)

    # Innermost (added first): its refusal is raised into FastAPI's own reading of the body.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    idempotency.install(app)  # outside the body limit: it keeps the response of a route that ran

    build = app.build_middleware_stack

    def stack() -> ASGIApp:
        errors = cast(ServerErrorMiddleware, build())
        # FastAPI's exception telemetry is off (above): its layer would only catch and re-raise.
        if isinstance(errors.app, ExceptionTelemetryMiddleware):
            errors.app = errors.app.app
        # The service's `@lean` routes (kit/lean.py) served inside the exception handlers.
        layer: Any = errors.app
        while not isinstance(layer, ExceptionMiddleware):
            layer = layer.app
        layer.app = LeanRoutes(layer.app, definition.router.routes, app.router.dependencies,
                               app.dependency_overrides)
        # Around Starlette's whole stack, its ServerErrorMiddleware included (kit/edge.py).
        return Edge(errors, app.state.metrics)

    app.build_middleware_stack = stack  # type: ignore[method-assign]
    return app
