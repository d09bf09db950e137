"""Composition root of intake (包括的相談支援)."""

from pathlib import Path

from fastapi import FastAPI

from kit.service import ServiceDefinition, build_app

from .api import router
from .handlers import HANDLERS

DEFINITION = ServiceDefinition(
    name="intake",
    title="tsunagu intake — 包括的相談支援",
    description="Any window of any division records any consultation (断らない相談).",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
