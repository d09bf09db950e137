"""Build a service's FastAPI app: the one composition every services/<pillar>/app.py calls.

Start-up: logs, tracing, pool, migrations, the outbox relay, and the inbox consumer when the
service handles events. Shut-down (SIGTERM; uvicorn first drains HTTP requests): the consumer
finishes the event in hand and commits, the relay finishes its batch, then the pool closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, FastAPI
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.envelope import EventData
from contracts.registry import spec_for
from kit import audit_api, docs, idempotency, kafka, operators_api, ops, problems, views
from kit.access import Access
from kit.audit_writer import AuditWriter
from kit.auth import TokenVerifier
from kit.db import AcquireWatch, connect, create_pool
from kit.inbox import Handlers, InboxConsumer
from kit.limits import BodyLimit, clean_parameters
from kit.logging import setup_logging
from kit.metrics import Metrics
from kit.migrate import migrate
from kit.periodic import Periodic, PeriodicRunner
from kit.relay import OutboxRelay
from kit.settings import ServiceSettings, load_settings
from kit.tracing import TRACE_HEADER, current_trace_id, setup_tracing
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
        relay = app.state.relay = OutboxRelay(pool, settings, app.state.metrics)
        # Every service keeps its own view of consents and meetings for access decisions.
        consumer = app.state.consumer = InboxConsumer(pool, settings, consumed(definition),
                                                      app.state.metrics)
        workers: list[tuple[Callable[[], None], asyncio.Task[None]]] = [
            (consumer.stop, asyncio.create_task(consumer.run()))]
        for job in (*definition.periodic, Periodic("idempotency-purge", 600, idempotency.purge)):
            runner = PeriodicRunner(job, lambda: UnitOfWork(pool, settings.service,
                                                            settings.municipality_code))
            workers.append((runner.stop, asyncio.create_task(runner.run())))
        workers.append((writer.stop, asyncio.create_task(writer.run())))  # its events: relayed
        workers.append((relay.stop, asyncio.create_task(relay.run())))
        try:
            yield
        finally:
            for stop, task in workers:  # consumer first: what it records, the relay still sends
                stop()
                done, _ = await asyncio.wait({task}, timeout=15)
                if not done:
                    task.cancel()
            await pool.close()
            provider.force_flush()

    # FastAPI's own telemetry off: _ServerSpan makes the request's span, after dropping a
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
    app.include_router(ops.router)
    app.include_router(audit_api.router)
    app.include_router(operators_api.router)
    app.include_router(definition.router)

    # Innermost (added first): its refusal is raised into FastAPI's own reading of the body.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    idempotency.install(app)  # outside the body limit: it keeps the response of a route that ran

    app.add_middleware(_Timing, metrics=app.state.metrics)

    # The request's span around Starlette's whole stack, its ServerErrorMiddleware included:
    # a 500's problem response is made inside the span and carries its X-Trace-Id. Outermost:
    # a client's own trace context is dropped before anything could take it up.
    stack = app.build_middleware_stack
    app.build_middleware_stack = (  # type: ignore[method-assign]
        lambda: _UntrustedTraceContext(_ServerSpan(stack())))
    return app


_TRACE_KEY = TRACE_HEADER.lower().encode()

# W3C trace context (and baggage) a caller may send. No service calls another over HTTP (they
# talk through Kafka, whose headers carry the context), so a request's context can only be a
# client's: continued, it would let a client choose the trace id its audit records carry (and
# join its requests to someone else's trace). The edge starts every trace itself.
_CALLER_CONTEXT = frozenset({b"traceparent", b"tracestate", b"baggage"})


class _UntrustedTraceContext:
    """ASGI middleware: drops a request's trace context headers before the instrumentation."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(k in _CALLER_CONTEXT for k, _ in scope["headers"]):
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"]
                                          if k not in _CALLER_CONTEXT]}
        await self.app(scope, receive, send)


_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: several a minute, no journey
_NEW_TRACE = context.Context()  # every request starts a trace: the edge is where traces begin
_server_tracer = trace.get_tracer("kit.service")


class _ServerSpan:
    """ASGI middleware: each request's SERVER span, named by its route template ("POST
    /consultations"), with the method, the route and the status, never the URL (its path holds
    ids, its query string names: kit/tracing.py). It replaces FastAPIInstrumentor, which cost
    ~0.4 ms of CPU per request more (#14, a 27-route app's POST): it matched the request against
    every route a second time to name its span, read a dozen attributes off the request (URL,
    peer, user agent, which the redaction then rewrote) and looked for a caller's trace context
    (always dropped: _UntrustedTraceContext)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNTRACED:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 0

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # An exception escaping the app (ServerErrorMiddleware answers 500 and re-raises it) is
        # recorded on the span, its status ERROR.
        with _server_tracer.start_as_current_span(method, _NEW_TRACE, SpanKind.SERVER,
                                                  {"http.method": method}) as span:
            try:
                await self.app(scope, receive, sent)
            finally:
                route = getattr(scope.get("route"), "path", None)  # set by the router that matched
                if route is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if status:
                    span.set_attribute("http.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)


class _Timing:
    """ASGI middleware: each request's duration by route and status, and the trace id on every
    traced response (a pure ASGI one: `@app.middleware` costs a task and a copy per request)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                trace_id = current_trace_id()  # none on /healthz, /readyz, /metrics: not traced
                headers = list(message.get("headers", ()))
                if trace_id and all(k.lower() != _TRACE_KEY for k, _ in headers):  # problems set it
                    message = {**message, "headers": [*headers, (_TRACE_KEY, trace_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.request_seconds.labels(scope["method"], route, status).observe(
                time.perf_counter() - started)
