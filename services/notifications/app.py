"""Composition root of notifications (お知らせ)."""

from pathlib import Path

from fastapi import FastAPI

from kit.periodic import Periodic
from kit.service import ServiceDefinition, build_app

from .api import router
from .handlers import HANDLERS, MAILER, SETTINGS
from .webhooks import secrets
from .webhooks.worker import WebhookWorker

WORKER = WebhookWorker(SETTINGS)

DEFINITION = ServiceDefinition(
    name="notifications",
    title="tsunagu notifications — お知らせ",
    description="Everyone involved hears what concerns them: inboxes, webhooks, e-mail.",
    router=router,
    migrations=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    periodic=(Periodic("webhooks", SETTINGS.webhook_poll_seconds, WORKER.round),
              # At start (the upgrade's migration), then now and then: a restored backup.
              Periodic("webhook-secrets", 30 * SETTINGS.webhook_poll_seconds, secrets.seal_kept_in_clear),
              # Without an SMTP host nothing is queued or sent: no rounds that would do nothing.
              *((Periodic("email", SETTINGS.email_poll_seconds, MAILER.round),
                 Periodic("digest", SETTINGS.digest_poll_seconds, MAILER.digests))
                if MAILER.enabled else ())),
)


def create_app() -> FastAPI:
    return build_app(DEFINITION)
