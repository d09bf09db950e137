"""aiokafka clients configured the one way the kit uses them."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer


def idempotent_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    # acks=all + idempotence: a retried send cannot duplicate or reorder within a partition.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, acks="all",
                            enable_idempotence=True, request_timeout_ms=10000,
                            retry_backoff_ms=200, linger_ms=0)
