"""The dev key pair, its JWKS, and minting tokens. Never used outside development and tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "tsunagu-dev-idp"
AUDIENCE = "tsunagu"
KID = "dev-1"
USERS_FILE = Path(__file__).with_name("users.json")


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}


def users() -> dict[str, dict[str, Any]]:
    return {u["sub"]: u for u in json.loads(USERS_FILE.read_text())["users"]}


def mint(key: rsa.RSAPrivateKey, user: str, ttl: int = 3600, municipality: str = "132187",
         **overrides: Any) -> str:
    """A signed token for a seeded user; `overrides` replace claims (tests forge bad ones)."""
    seeded = users()[user]
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": seeded["sub"], "name": seeded["name"],
              "agency": seeded["agency"], "roles": seeded["roles"],
              "municipality": seeded.get("municipality", municipality),
              "iat": now, "exp": now + ttl, **overrides}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
