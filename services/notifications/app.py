"""Composition root of notifications (お知らせ)."""

from pathlib import Path

from fastapi import FastAPI

from kit.periodic import Periodic
from kit.service import ServiceDefinition, build_app

from .api import router
from .handlers import HANDLERS
from .settings import load
from .webhooks.worker import WebhookWorker

SETTINGS = load()
WORKER = WebhookWorker(SETTINGS)

DEFINITION = ServiceDefinition(
    name="notifications",
    title="tsunagu notifications — お知らせ",
    description="Everyone involved hears what concerns them: inboxes, webhooks, e-mail.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    periodic=(Periodic("webhooks", SETTINGS.webhook_poll_seconds, WORKER.round),),
)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
