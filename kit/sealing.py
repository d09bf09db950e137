"""Sealing data at rest: AES-256-GCM under keys derived from one secret setting, `data_key`.

What a service must keep but nobody reading its database (a dump, a backup, an operator's SQL)
may read: the answers kept for Idempotency-Key repeats (kit/idempotency.py), the webhook
subscribers' signing secrets (notifications). Each use derives its own key from the setting (HKDF
with the use's name), and each sealed value is bound to its row (associated data): copied into
another row, it does not open. Without the setting a service refuses to start.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kit.settings import ServiceSettings

_VERSION = b"\x01"  # the first byte of a sealed value: the scheme, should it ever change
_NONCE = 12


def key_for(settings: ServiceSettings, purpose: str) -> bytes:
    """The 32-byte key of one use (`purpose`), derived from the service's data_key."""
    if settings.data_key is None:
        raise RuntimeError(f"{settings.service.upper()}_DATA_KEY (or TSUNAGU_DATA_KEY) is unset: "
                           "nothing kept at rest could be sealed; refusing to start")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"tsunagu {purpose}".encode()).derive(
        settings.data_key.get_secret_value().encode())


def subkey(key: bytes, *parts: bytes) -> bytes:
    """A key bound to `parts` (HMAC-SHA256): who lacks one of them cannot derive it."""
    return hmac.new(key, b"\x00".join(parts), hashlib.sha256).digest()


def seal(key: bytes, plain: bytes, bound_to: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plain, bound_to)


def unseal(key: bytes, sealed: bytes, bound_to: bytes) -> bytes:
    """The plain bytes; ValueError if the value is not sealed under this key for this row."""
    if sealed[:1] != _VERSION:
        raise ValueError("not a sealed value")
    nonce, body = sealed[1:1 + _NONCE], sealed[1 + _NONCE:]
    try:
        return AESGCM(key).decrypt(nonce, body, bound_to)
    except InvalidTag as exc:
        raise ValueError("the sealed value does not open under this key for this row") from exc
