"""Sign-in: RS256 bearer tokens verified against the city identity provider's JWKS.

The token says who the user is, their agency or division, their roles and their city. What it
does not say is trusted from elsewhere: meeting membership is looked up in the service's own
view of the meetings service's events, never read from the token. Its agency (where the user
records: a consultation's receiving division, a person's registering office, hence who holds
what) is checked against the directory view: an office that the directory does not staff the
user at is refused (403, on record), whatever the identity provider signed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import jwt
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from kit import db, views
from kit.principal import OFFICELESS_ROLES, ROLES, Principal
from kit.problems import Problem
from kit.settings import ServiceSettings

if TYPE_CHECKING:
    from kit.access import Access
    from kit.policy import Action

__all__ = ["Principal", "PrincipalDep", "TokenVerifier", "signed_in"]
_REQUIRED = ["exp", "iat", "sub", "iss", "aud"]
MAX_CLAIM = 100  # as an id in contracts/bounds.py
LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
CACHED_TOKENS = 10_000
# A (user, agency) the directory was seen to staff is not looked up again for this long: about
# how long a directory change takes to reach every service's view anyway.
LISTED_SECONDS = 5.0
# What a 401 says: fixed words, never PyJWT's message, which may echo the token's contents.
_REASONS: dict[type[jwt.PyJWTError], str] = {
    jwt.ExpiredSignatureError: "the token has expired",
    jwt.ImmatureSignatureError: "the token is not valid yet",
    jwt.InvalidAudienceError: "the token is for another audience",
    jwt.InvalidIssuerError: "the token is from another issuer",
    jwt.MissingRequiredClaimError: "the token lacks a required claim",
    jwt.InvalidSignatureError: "the token's signature does not verify",
    jwt.PyJWKClientError: "the token is signed with an unknown key",
}


class TokenVerifier:
    def __init__(self, settings: ServiceSettings, staffing_checked: bool = True) -> None:
        self.settings = settings
        # False only for a service that keeps no directory view and serves no record of anyone
        # (statistics: counts, gated by role and city): it cannot check a token's agency.
        self.staffing_checked = staffing_checked
        # PyJWKClient caches the keys; it refetches only for an unknown key id.
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=3600, timeout=5)
        # Tokens verified already, until they expire: a signature check (RSA) and a thread hop
        # per request otherwise. The same string is the same signed claims, so nothing is
        # trusted that was not verified; only expiry is checked again, with decode's leeway.
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._listed: dict[tuple[str, str], float] = {}  # (user, agency) -> seen staffed at

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before and not expired since, else None."""
        hit = self._verified.get(token)
        if hit is None:
            return None
        if time.time() > hit[1] + LEEWAY_SECONDS:
            del self._verified[token]
            return None
        return hit[0]

    def verify(self, token: str) -> Principal:
        principal, expires = self._verify(token)
        if len(self._verified) >= CACHED_TOKENS:  # a day's worth of sign-ins; then start over
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def listed(self, principal: Principal) -> bool:
        seen = self._listed.get((principal.user_id, principal.agency))
        return seen is not None and time.monotonic() - seen < LISTED_SECONDS

    def seen_listed(self, principal: Principal) -> None:
        if len(self._listed) >= CACHED_TOKENS:
            self._listed.clear()
        self._listed[(principal.user_id, principal.agency)] = time.monotonic()

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256"], audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer, options={"require": _REQUIRED},
                leeway=LEEWAY_SECONDS)
        except jwt.PyJWKClientConnectionError as exc:
            raise Problem(503, "Identity provider unreachable", str(exc)) from exc
        except jwt.PyJWTError as exc:  # its message may quote the token (a key id, a claim)
            raise _unauthorized(_REASONS.get(type(exc), "invalid token")) from exc
        roles = claims.get("roles")
        if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
            raise _unauthorized("the token's roles are missing or unknown")
        for claim in ("sub", "agency", "municipality", "name"):
            if not isinstance(claims.get(claim), str) or not claims[claim]:
                raise _unauthorized(f"the token has no '{claim}' claim")
            if len(claims[claim]) > MAX_CLAIM:  # they go into events and audit records
                raise _unauthorized(f"the token's '{claim}' claim is too long")
        return Principal(user_id=claims["sub"], name=claims["name"], agency=claims["agency"],
                         roles=frozenset(roles), municipality=claims["municipality"]
                         ), float(claims["exp"])


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type_="urn:tsunagu:problem:unauthorized",
                   headers={"WWW-Authenticate": 'Bearer realm="tsunagu"'})


async def signed_in(request: Request) -> Principal:
    """The request's principal, its token checked once per request whoever asks first: the route
    (PrincipalDep) or kit/api.py's dependencies, which call this rather than depend on
    PrincipalDep (a sub-dependency costs FastAPI a recursive solve per request, #14)."""
    # request.state is scope["state"]; read as a dict: a miss on State raises and catches an
    # AttributeError, the first time on every request (#14)
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    return principal if principal is not None else await _principal(request)


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    token = token.strip()
    principal = verifier.cached(token)
    if principal is None:  # may fetch the identity provider's keys: off the event loop
        principal = await run_in_threadpool(verifier.verify, token)
    if principal.municipality != verifier.settings.municipality_code:
        raise Problem(403, "Forbidden", "this deployment serves another municipality",
                      type_="urn:tsunagu:problem:forbidden")
    await _staffed(request, principal, verifier)
    request.state.principal = principal
    return principal


async def _staffed(request: Request, principal: Principal, verifier: TokenVerifier) -> None:
    """Refuse a token whose agency is not an office the directory staffs its user at (a forged
    or stale claim would make the user record, and so hold, as another office). Before the
    route's own connection is taken: this one is released first (one at a time per request)."""
    if (not verifier.staffing_checked or principal.roles <= OFFICELESS_ROLES
            or verifier.listed(principal)):
        return
    pool = request.app.state.pool
    conn = await db.acquire(pool, verifier.settings.pool_acquire_timeout_seconds,
                            request.app.state.acquires)
    try:
        if principal.agency in (await views.workplace_of(conn, principal.user_id)).offices:
            verifier.seen_listed(principal)
            return
        access: Access = request.app.state.access
        action: Action = "read" if request.method in ("GET", "HEAD") else "write"
        detail = ("名簿（ディレクトリ）上、この所属の職員として登録されていません / the directory does "
                  "not list this user at the agency the token names")
        await access.refuse(conn, access.entry(principal, action, "sign_in", principal.agency,
                                               "denied", detail), detail)
    finally:
        await pool.release(conn)


PrincipalDep = Annotated[Principal, Depends(signed_in)]
