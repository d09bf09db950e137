"""notifications' own settings: `NOTIFICATIONS_<NAME>` in the environment, else the default."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


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


def load(env: Mapping[str, str] | None = None) -> NotificationSettings:
    env = os.environ if env is None else env
    return NotificationSettings.model_validate(
        {name: env[f"NOTIFICATIONS_{name.upper()}"] for name in NotificationSettings.model_fields
         if f"NOTIFICATIONS_{name.upper()}" in env})
