"""notifications' own settings: `NOTIFICATIONS_<NAME>` in the environment, else the default."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class NotificationSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    webhook_max_failures: int = Field(5, ge=1, le=50)  # then the delivery is parked
    webhook_retry_base_seconds: float = Field(10.0, gt=0)
    webhook_retry_cap_seconds: float = Field(3600.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_concurrency: int = Field(4, ge=1, le=64)  # in flight per subscriber
    webhook_batch: int = Field(50, ge=1, le=1000)
    webhook_poll_seconds: float = Field(0.5, gt=0)
    # Loopback URLs (http://127.0.0.1:…) only where a test or a local stack says so; otherwise
    # a subscriber's URL is https to a named host.
    webhook_allow_loopback: bool = False
    # E-mail: off without an SMTP host. Addresses are not in the directory's events (personal
    # data stays out of events): the operator keeps them in a JSON file {user id: address}.
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(10.0, gt=0)
    email_from: str = "tsunagu@localhost"
    email_addresses_file: str | None = None
    email_max_failures: int = Field(10, ge=1, le=100)
    email_poll_seconds: float = Field(1.0, gt=0)
    digest_hour: float = Field(8.5, ge=0, lt=24)  # JST: the daily digest goes from 08:30
    digest_poll_seconds: float = Field(60.0, gt=0)
    public_base_url: str = "https://tsunagu.invalid"  # where a mail's link opens the record


def load(env: Mapping[str, str] | None = None) -> NotificationSettings:
    env = os.environ if env is None else env
    return NotificationSettings.model_validate(
        {name: env[f"NOTIFICATIONS_{name.upper()}"] for name in NotificationSettings.model_fields
         if f"NOTIFICATIONS_{name.upper()}" in env})
