"""aiokafka clients configured the one way the kit uses them: SASL/SCRAM over TLS, always."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

from kit.settings import ServiceSettings

IDLE_FETCH_MS = 5000  # well under request_timeout_ms (40 s), so a held fetch never times out


def sasl_ssl(bootstrap: str, username: str, password: str, ca_file: str | None = None,
             mechanism: str = "SCRAM-SHA-512") -> dict[str, Any]:
    """Connection kwargs every aiokafka client (producer, consumer, admin) takes."""
    # create_ssl_context verifies the broker's certificate and host name against ca_file
    # (or the system's trust store when None).
    return {"bootstrap_servers": bootstrap, "security_protocol": "SASL_SSL",
            "sasl_mechanism": mechanism, "sasl_plain_username": username,
            "sasl_plain_password": password, "ssl_context": create_ssl_context(cafile=ca_file)}


def connection(settings: ServiceSettings) -> dict[str, Any]:
    """The service's own credentials from its settings; refuses when none are configured."""
    if settings.kafka_password is None:
        prefix = settings.service.upper()
        raise RuntimeError(f"{settings.service}: no Kafka password configured "
                           f"({prefix}_KAFKA_PASSWORD or TSUNAGU_KAFKA_PASSWORD)")
    return sasl_ssl(settings.kafka_bootstrap, settings.kafka_username or settings.service,
                    settings.kafka_password.get_secret_value(), settings.kafka_ca_file,
                    settings.kafka_sasl_mechanism)


def idempotent_producer(settings: ServiceSettings, client_id: str) -> AIOKafkaProducer:
    # acks=all + idempotence: a retried send cannot duplicate or reorder within a partition.
    return AIOKafkaProducer(**connection(settings), client_id=client_id, acks="all",
                            enable_idempotence=True, request_timeout_ms=10000,
                            retry_backoff_ms=200, linger_ms=0)


def group_consumer(settings: ServiceSettings, topics: list[str], client_id: str,
                   **options: Any) -> AIOKafkaConsumer:
    # The consumer group is the service's name: its ACLs allow that group and no other.
    # A fetch is a long poll the broker answers as soon as a record is appended (fetch_min_bytes
    # is 1), and aiokafka sends one only once the records of the last are handed over, so how long
    # the broker may hold it bounds only an idle consumer's polling (aiokafka's 0.5 s: two
    # requests a second per consumer, each a decode of every partition), never a record's wait.
    return AIOKafkaConsumer(*topics, **connection(settings), group_id=settings.service,
                            client_id=client_id, fetch_max_wait_ms=IDLE_FETCH_MS, **options)
