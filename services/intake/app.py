"""Composition root of intake (包括的相談支援)."""

import os
from pathlib import Path

from fastapi import FastAPI

from contracts.events.intake import ConsentExpired, ConsentGranted, ConsentWithdrawn
from kit.service import ServiceDefinition, build_app

from .api import router
from .categories import load_categories
from .handlers import HANDLERS, PERIODIC


def _state(app: FastAPI) -> None:
    app.state.categories = load_categories(os.environ.get("INTAKE_CATEGORIES_FILE"))


DEFINITION = ServiceDefinition(
    name="intake",
    title="tsunagu intake — 包括的相談支援",
    description="Any window of any division records any consultation (断らない相談); people and "
                "households linked across divisions (名寄せ); consent to share.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    # Its consent view is written with each grant, withdrawal and expiry (api/consents.py,
    # handlers.py): intake.events is not read back, and no longer wakes intake's consumer.
    applied_at_once=(ConsentGranted, ConsentWithdrawn, ConsentExpired),
    periodic=PERIODIC,
    on_start=_state,
)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
