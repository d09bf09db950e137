"""Composition root of referral (つなぐ)."""

from pathlib import Path

from fastapi import FastAPI

from contracts.events.referral import DirectoryChanged
from kit.service import ServiceDefinition, build_app

from .api import router
from .handlers import HANDLERS, PERIODIC

DEFINITION = ServiceDefinition(
    name="referral",
    title="tsunagu referral — つなぐ・参加支援・地域づくり",
    description="Hands consultations to the agencies that act on them, and closes the loop.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    # Its office view is written with each new revision it publishes (handlers.py): referral.events
    # is not read back, and no longer wakes referral's consumer.
    applied_at_once=(DirectoryChanged,),
    periodic=PERIODIC,
)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
