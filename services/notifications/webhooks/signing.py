"""Signatures and retry timing of webhook deliveries. Pure.

The scheme is Standard Webhooks (standardwebhooks.com): headers `webhook-id` (the delivery id,
the same on every retry: a receiver drops repeats by it), `webhook-timestamp` (Unix seconds)
and `webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per active
secret, space-separated, so a secret rotates without downtime (both sign until the old one is
retired). A receiver rejects a timestamp outside its tolerance (replays) and a body whose
signature does not match (tampering): see infra/examples/webhook_receiver.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(active_secrets: list[str], delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"content-type": "application/cloudevents+json; charset=utf-8",
            "webhook-id": delivery_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signature(s, delivery_id, timestamp, body)
                                          for s in active_secrets)}


def verify(secret: str, headers: dict[str, str], body: bytes, now: int, tolerance: int = 300) -> bool:
    """The receiver's check: a fresh timestamp and one matching signature."""
    try:
        timestamp = int(headers["webhook-timestamp"])
        delivery_id = headers["webhook-id"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, delivery_id, timestamp, body)
    return any(hmac.compare_digest(expected, given)
               for given in headers.get("webhook-signature", "").split())


def backoff(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the next try after `failures` failures: exponential, capped, with jitter
    (half fixed, half random) so retries of many deliveries do not arrive in step."""
    delay = float(min(cap, base * 2 ** max(0, failures - 1)))
    jitter: float = (rng or random).uniform(0, delay / 2)
    return delay / 2 + jitter
