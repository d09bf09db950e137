"""Build a service's FastAPI app: the one composition every services/<pillar>/app.py calls.

Start-up: logs, tracing, pool, migrations, the outbox relay, and the inbox consumer when the
service handles events. Shut-down (SIGTERM; uvicorn first drains HTTP requests): the consumer
finishes the event in hand and commits, the relay finishes its batch, then the pool closes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from kit import ops, problems
from kit.db import create_pool
from kit.inbox import Handlers, InboxConsumer
from kit.logging import setup_logging
from kit.metrics import Metrics
from kit.migrate import migrate
from kit.relay import OutboxRelay
from kit.settings import ServiceSettings, load_settings
from kit.tracing import setup_tracing


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str  # shown in the OpenAPI document (Japanese label first)
    description: str
    router: APIRouter
    migrations: Path
    handlers: Handlers = field(default_factory=dict)


def build_app(definition: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings(definition.name)
    setup_logging(definition.name, settings.log_level)
    provider = setup_tracing(definition.name, settings.trace_file)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, settings.pool_max)
        await migrate(pool, definition.name, definition.migrations)
        app.state.pool = pool
        relay = app.state.relay = OutboxRelay(pool, settings)
        workers: list[tuple[Callable[[], None], asyncio.Task[None]]] = []
        if definition.handlers:
            consumer = app.state.consumer = InboxConsumer(pool, settings, definition.handlers,
                                                          app.state.metrics)
            workers.append((consumer.stop, asyncio.create_task(consumer.run())))
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

    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0",
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = Metrics()
    problems.install(app)
    app.include_router(ops.router)
    app.include_router(definition.router)

    @app.middleware("http")
    async def _timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                      ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        app.state.metrics.request_seconds.labels(request.method, route, response.status_code
                                                 ).observe(time.perf_counter() - started)
        return response

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider,
                                       excluded_urls="healthz,readyz,metrics")
    return app
