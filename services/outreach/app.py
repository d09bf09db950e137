"""Composition root of outreach (アウトリーチ等を通じた継続的支援)."""

from pathlib import Path

from fastapi import FastAPI

from kit.service import ServiceDefinition, build_app

from .api import router
from .handlers import HANDLERS

DEFINITION = ServiceDefinition(
    name="outreach",
    title="tsunagu outreach — アウトリーチ等を通じた継続的支援",
    description="Concern reports from partners, outreach before consent, contact attempts, hand-over.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
