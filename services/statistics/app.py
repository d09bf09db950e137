"""Composition root of statistics (重層的支援体制整備事業の実績): the counting stream and its HTTP
face.

Not kit/service.build_app: that one runs an inbox consumer that keeps every service's views of
consents and meetings (person ids), and statistics holds no person id. Its database holds its
audit trail only (kit migrations, whose view tables stay empty); its figures live in Kafka.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse

from fastapi import Depends, FastAPI

from kit import audit_api, docs, ops, problems
from kit.access import Access
from kit.audit_writer import AuditWriter
from kit.auth import TokenVerifier
from kit.db import AcquireWatch, connect, create_pool
from kit.limits import clean_parameters
from kit.logging import setup_logging
from kit.metrics import Metrics
from kit.migrate import migrate
from kit.settings import load_settings

from .api import router
from .indicators import indicators
from .stream import Counting

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    settings = load_settings("statistics")
    setup_logging("statistics", settings.log_level)
    # A new version is a new consumer group and new tables: the figures counted again from
    # offset zero (README, "statistics").
    version = int(os.environ.get("STATISTICS_VERSION", "1"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.migration_database_url or settings.database_url,
                      urlparse(settings.database_url).username or "", "statistics", MIGRATIONS)
        app.state.pool = await create_pool(settings.database_url, settings.pool_max)
        writer = AuditWriter(lambda: connect(settings.database_url))
        app.state.access = Access(settings, writer)
        counting = app.state.counting = Counting(settings, indicators(), version,
                                                 app.state.metrics.registry)
        audit_task = asyncio.create_task(writer.run())
        await counting.app.start()
        try:
            yield
        finally:
            await counting.app.stop()
            writer.stop()
            await asyncio.wait({audit_task}, timeout=15)
            await app.state.pool.close()

    app = FastAPI(title="tsunagu statistics — 重層的支援体制整備事業の実績",
                  description="National and committee indicators counted from every service's "
                  "events (faust tables in Kafka): counts only, no personal data.",
                  version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  dependencies=[Depends(clean_parameters)])
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.acquires = AcquireWatch(settings.pool_starved_after_seconds)
    # No directory view here (no inbox consumer keeps one) and no record of anyone to hold:
    # the figures' gate is the role and the city (api.py), not the office a token names.
    app.state.verifier = TokenVerifier(settings, staffing_checked=False)
    problems.install(app)
    docs.install(app)
    app.include_router(ops.router)
    app.include_router(audit_api.router)
    app.include_router(router)
    return app
