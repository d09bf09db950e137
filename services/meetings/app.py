"""Composition root of meetings (支援会議・重層的支援会議)."""

from pathlib import Path

from fastapi import FastAPI

from kit.service import ServiceDefinition, build_app

from .api import router
from .handlers import HANDLERS

DEFINITION = ServiceDefinition(
    name="meetings",
    title="tsunagu meetings — 支援会議・重層的支援会議",
    description="支援会議 (Art. 106-6) and 重層的支援会議: members, pledges, agenda items with their "
                "materials and minutes, decisions.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
