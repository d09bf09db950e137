"""Sign-in: no personal data without a valid token; bad tokens get 401 problem+json."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.idp.keys import AUDIENCE, ISSUER, KID, users
from infra.local.stack import Stack
from tests.helpers import bearer, consultation


def _forged() -> str:
    """Right claims, right key id, signed by a key the identity provider never had."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {**{k: v for k, v in users()["w-kaigo"].items()}, "iss": ISSUER, "aud": AUDIENCE,
              "municipality": "132187", "iat": now, "exp": now + 600}
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": KID})


BAD_TOKENS: dict[str, Callable[[Stack], str]] = {
    "expired": lambda s: s.token("w-kaigo", ttl=-3600),
    "forged signature": lambda s: _forged(),
    "wrong audience": lambda s: s.token("w-kaigo", aud="another-system"),
    "wrong issuer": lambda s: s.token("w-kaigo", iss="https://evil.example"),
    "unknown role": lambda s: s.token("w-kaigo", roles=["superuser"]),
    "no agency": lambda s: s.token("w-kaigo", agency=""),
    "unsigned": lambda s: jwt.encode({"sub": "w-kaigo", "aud": AUDIENCE, "iss": ISSUER}, key="",
                                     algorithm="none"),
    "garbage": lambda s: "not-a-token",
}


@pytest.mark.parametrize("service,path", [("intake", "/consultations/{id}"),
                                          ("referral", "/referrals/{id}"),
                                          ("meetings", "/meetings/{id}"),
                                          ("intake", "/audit")])
async def test_no_token_no_data(stack: Stack, http: httpx.AsyncClient, service: str, path: str) -> None:
    r = await http.get(stack.url(service) + path.format(id=uuid.uuid4()))
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("name", BAD_TOKENS)
async def test_bad_tokens_are_refused(stack: Stack, http: httpx.AsyncClient, name: str) -> None:
    token = BAD_TOKENS[name](stack)
    r = await http.post(stack.url("intake") + "/persons", headers=bearer(token),
                        json={"family_name": "x", "given_name": "y", "family_kana": "ア",
                              "given_kana": "イ"})
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "urn:tsunagu:problem:unauthorized"


async def test_another_municipality_is_forbidden(stack: Stack, http: httpx.AsyncClient) -> None:
    r = await http.get(stack.url("intake") + f"/consultations/{uuid.uuid4()}",
                       headers=bearer(stack.token("other-city")))
    assert r.status_code == 403


async def test_a_valid_token_is_accepted(stack: Stack, http: httpx.AsyncClient) -> None:
    r = await http.get(stack.url("intake") + "/categories", headers=bearer(stack.token("w-kaigo")))
    assert r.status_code == 200 and r.json()["8050"]["ja"] == "8050問題"


async def test_a_token_accepted_before_is_refused_once_it_expires(stack: Stack,
                                                                  http: httpx.AsyncClient) -> None:
    # Expired 27 s ago: still inside the 30 s leeway for clock skew, so accepted (and the
    # service remembers it verified); 3 s later, past the leeway, refused all the same.
    token = stack.token("w-kaigo", ttl=-27)
    url = stack.url("intake") + f"/consultations/{uuid.uuid4()}"
    assert (await http.get(url, headers=bearer(token))).status_code == 404  # signed in: none such
    await asyncio.sleep(4)
    r = await http.get(url, headers=bearer(token))
    assert r.status_code == 401 and r.json()["detail"] == "the token has expired"


SECRET = "yamada-hanako-09012345678"  # stands for anything a token may carry


def _carrying_secret(s: Stack) -> dict[str, str]:
    """Refused tokens whose header or claims carry SECRET where PyJWT would quote them."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {**users()["w-kaigo"], "iss": ISSUER, "aud": AUDIENCE, "municipality": "132187",
              "iat": now, "exp": now + 600}
    return {"unknown key id": jwt.encode(claims, stranger, algorithm="RS256",
                                         headers={"kid": SECRET}),
            "issuer": s.token("w-kaigo", iss=SECRET), "audience": s.token("w-kaigo", aud=SECRET),
            "not yet valid": s.token("w-kaigo", nbf=now + 3600, name=SECRET),
            "broken header": _b64(f'{{"alg":"RS256","kid":"{SECRET}"') + ".e30.x"}


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_a_401_does_not_echo_the_token(stack: Stack, http: httpx.AsyncClient) -> None:
    for name, token in _carrying_secret(stack).items():
        r = await http.get(stack.url("intake") + f"/persons/{uuid.uuid4()}", headers=bearer(token))
        assert r.status_code == 401, (name, r.text)
        assert SECRET not in r.text, (name, r.text)


# A real user's token naming an office the directory does not staff them at: the access matrix's
# attacker (a-houkatsu of 地域包括) claiming the 介護福祉課's window, on every service, reads and
# writes apart; and a user the directory does not know at all claiming that window.
CLAIMED = "div-kaigo"
READS = [("intake", "/consultations/{id}"), ("referral", "/referrals/{id}"),
         ("meetings", "/meetings/{id}"), ("plans", "/plans/{id}"), ("outreach", "/cases/{id}"),
         ("notifications", "/inbox/" + CLAIMED)]


async def _denials(db: Callable[[str], Awaitable[asyncpg.Connection]], user: str) -> int:
    conn = await db("intake")
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE user_id = $1 AND object_type = 'sign_in' "
            "AND outcome = 'denied' AND agency = $2", user, CLAIMED))
    finally:
        await conn.close()


@pytest.mark.parametrize("user", ["a-houkatsu", "nobody-in-the-directory"])
async def test_an_agency_the_directory_does_not_staff_the_user_at_is_forbidden(
        stack: Stack, http: httpx.AsyncClient, db: Callable[[str], Awaitable[asyncpg.Connection]],
        user: str) -> None:
    claiming = bearer(stack.token("a-houkatsu", sub=user, agency=CLAIMED))
    before = await _denials(db, user)
    for service, path in READS:
        r = await http.get(stack.url(service) + path.format(id=uuid.uuid4()), headers=claiming)
        assert r.status_code == 403, (service, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "urn:tsunagu:problem:forbidden"
    marker = f"名乗り {uuid.uuid4().hex[:8]}"
    made = await http.post(stack.url("intake") + "/consultations", headers=claiming,
                           json=consultation("konkyu", main_complaint=marker))
    assert made.status_code == 403, made.text
    conn = await db("intake")
    try:
        assert await conn.fetchval("SELECT count(*) FROM consultations WHERE main_complaint = $1",
                                   marker) == 0
    finally:
        await conn.close()
    assert await _denials(db, user) == before + 1 + 1  # intake's read and write, on record

    # The same user under the office the directory staffs them at: signed in as before.
    if user == "a-houkatsu":
        own = bearer(stack.token("a-houkatsu"))
        r = await http.get(stack.url("intake") + f"/consultations/{uuid.uuid4()}", headers=own)
        assert r.status_code == 404, r.text
    # Officeless roles (the platform's operators) are not in the directory: their agency decides nothing.
    ops = await http.get(stack.url("intake") + "/operators/dead-letters",
                         headers=bearer(stack.token("ops-1")))
    assert ops.status_code == 200, ops.text
