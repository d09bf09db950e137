"""Composition root of outreach (アウトリーチ等を通じた継続的支援)."""

from pathlib import Path

from fastapi import FastAPI

from kit.service import ServiceDefinition, build_app

from .api import router
from .api_cases import router as cases_router
from .handlers import HANDLERS, PERIODIC

DEFINITION = ServiceDefinition(
    name="outreach",
    title="tsunagu outreach — アウトリーチ等を通じた継続的支援",
    description="Concern reports from partners, weak signals, outreach before consent, contact "
                "attempts, hand-over once the person consents.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    periodic=PERIODIC,
)
router.include_router(cases_router)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
