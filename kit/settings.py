"""Service settings from the environment: `<SERVICE>_<NAME>`, then `TSUNAGU_<NAME>`, then default.

One prefix per service lets several services share a host or an environment file; the
TSUNAGU_ fallback lets an operator set what they all share (the broker, the city) once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class ServiceSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    database_url: str  # the runtime role: may not update or delete audit rows
    # The owner role that runs migrations. Unset: migrations run as the runtime role, and only
    # the audit table's trigger (not privileges) keeps its rows append-only.
    migration_database_url: str | None = None
    kafka_bootstrap: str = "127.0.0.1:9092"
    # The broker is reached over TLS with SASL/SCRAM, always: there is no plaintext setting.
    # The principal is the service's own name unless kafka_username says otherwise; its ACLs
    # are infra/kafka/acls.json. Unset password: the service refuses to start.
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ca_file: str | None = None  # the broker's CA (PEM); unset: the system's trust store
    municipality_code: str = Field(default="132187", pattern=r"^\d{6}$")  # 福生市
    # Where spans go: Zipkin's v2 span API (`make up` runs one: http://127.0.0.1:9411/api/v2/spans).
    # Unset: no spans leave, unless OTEL_EXPORTER_OTLP_* names a collector (kit/tracing.py).
    zipkin_endpoint: str | None = None
    log_level: str = "INFO"
    jwks_url: str = "http://127.0.0.1:8009/.well-known/jwks.json"
    jwt_issuer: str = "tsunagu-dev-idp"
    jwt_audience: str = "tsunagu"
    pool_max: int = 10
    pool_acquire_timeout_seconds: float = 5.0  # then 503 + Retry-After, never a hang
    # No connection acquired for this long, with acquires timing out: /healthz fails (kit/db.py).
    pool_starved_after_seconds: float = 30.0
    max_body_bytes: int = 1024 * 1024  # a request body past this answers 413
    relay_batch: int = 200
    relay_poll_seconds: float = 1.0
    # How long the marks of published outbox rows may wait to ride a later claim (kit/relay.py).
    relay_mark_seconds: float = Field(default=0.1, ge=0)
    relay_send_timeout_seconds: float = 15.0
    # PostgreSQL ends a relay's session idle (or a statement running) this long: a frozen relay
    # loses its lock and a standby takes over. Longer than the wait for the broker's acks and
    # than the relay's poll (a live relay claims at least that often).
    relay_fence_seconds: float = 30.0
    # The event loop's lag probe (kit/stalls.py): its interval (0: off) and the lag it logs at.
    loop_probe_seconds: float = Field(default=0.25, ge=0)
    loop_stall_log_seconds: float = Field(default=0.05, gt=0)
    consumer_max_attempts: int = 3  # then the event goes to the dead-letter topic
    consumer_retry_seconds: float = 0.2
    # Under this age a person's consent is given by a guardian or legal representative (intake).
    minor_consent_age: int = Field(default=15, ge=0, le=25)
    # Event types (fnmatch patterns, comma-separated) this service knowingly ignores although no
    # contract names them; any other unknown type on a subscribed topic is dead-lettered.
    consumer_ignored_types: str = ""
    idempotency_keep_hours: float = 24.0  # how long an Idempotency-Key answers repeats
    idempotency_wait_seconds: float = 5.0  # a repeat waits this long for the first one's response
    # The secret every key sealing data at rest derives from (kit/sealing.py): kept answers of
    # Idempotency-Key repeats, webhook signing secrets. Unset: the service refuses to start.
    # Changing it makes what was sealed unreadable (kept answers then answer 409).
    data_key: SecretStr | None = None

    @model_validator(mode="after")
    def _fence_outlasts_the_send(self) -> ServiceSettings:
        if self.relay_fence_seconds <= self.relay_send_timeout_seconds:
            raise ValueError("relay_fence_seconds must exceed relay_send_timeout_seconds")
        if self.relay_fence_seconds <= self.relay_poll_seconds:
            raise ValueError("relay_fence_seconds must exceed relay_poll_seconds")
        return self


def load_settings(service: str, env: Mapping[str, str] | None = None) -> ServiceSettings:
    env = os.environ if env is None else env
    values: dict[str, str] = {"service": service}
    for name in ServiceSettings.model_fields:
        if name == "service":
            continue
        for key in (f"{service.upper()}_{name.upper()}", f"TSUNAGU_{name.upper()}"):
            if key in env:
                values[name] = env[key]
                break
    if "database_url" not in values:  # local development: both roles `make up` provisions
        values["database_url"] = default_database_url(service, "_app")
        values.setdefault("migration_database_url", default_database_url(service, ""))
    return ServiceSettings.model_validate(values)


def default_database_url(service: str, role_suffix: str) -> str:
    """The database `make up` provisions (infra/local/databases.py); local development only."""
    db = f"tsunagu_{service}"
    role = db + role_suffix
    return f"postgresql://{role}:{role}-dev@127.0.0.1:55432/{db}"
