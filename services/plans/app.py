"""Composition root of plans (アセスメント・プラン・伴走支援)."""

from pathlib import Path

from fastapi import FastAPI

from kit.service import ServiceDefinition, build_app

from .api import router
from .api_reads import router as reads_router
from .handlers import HANDLERS, PERIODIC

DEFINITION = ServiceDefinition(
    name="plans",
    title="tsunagu plans — アセスメント・プラン・伴走支援",
    description="Assessment, support and participation plans, lead worker, reviews and closure.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    periodic=PERIODIC,
)

router.include_router(reads_router)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
