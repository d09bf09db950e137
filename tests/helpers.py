"""Helpers for cross-service tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from infra.local import databases
from infra.local.stack import Stack

T = TypeVar("T")
Connect = Callable[[str], Awaitable[asyncpg.Connection]]  # the `db` fixture


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 30.0,
                     what: str = "condition") -> T:
    """Poll until `probe` returns something truthy (asynchronous effects take a moment)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")


def consultation(agency: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "visit",
        "main_complaint": "母の介護と息子のひきこもりで困っている",
        "categories": ["elderly_care", "8050"], "urgency": "high",
        "destination": {"kind": "agency", "agency": agency},
    }
    return body | overrides


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def delivered(http: Any, stack: Any, office: str, headers: dict[str, str],
                    consultation_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """This consultation's referral for `office` and the office's inbox item about it, once both
    are there (offices are shared by the whole session: find ours among theirs, on a full page,
    as a test that moved the clock ahead leaves items dated after any made since)."""
    referrals = await http.get(stack.url("referral") + "/referrals",
                               params={"agency": office, "limit": 200}, headers=headers)
    mine = [r for r in referrals.json() if r["consultation_id"] == consultation_id] \
        if referrals.status_code == 200 else []
    if not mine:
        return None
    inbox = await http.get(stack.url("notifications") + f"/inbox/{office}", params={"limit": 200},
                           headers=headers)
    items = [i for i in inbox.json() if i["about_id"] == mine[0]["id"]] \
        if inbox.status_code == 200 else []
    return (mine[0], items[0]) if items else None


async def read_topic(stack: Stack, topic: str, done: Callable[[list[dict[str, Any]]], bool],
                     what: str = "events") -> list[dict[str, Any]]:
    """Every record on `topic` (key, value, headers), read as an operator (the admin) from the
    start until `done` holds for what was read."""
    consumer = AIOKafkaConsumer(topic, **stack.kafka.client(), group_id=f"test-{uuid.uuid4()}",
                                auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async def collect() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend({"key": (r.key or b"").decode(), "value": r.value,
                              **{k: v.decode() for k, v in r.headers}} for r in records)
            return done(found)

        await eventually(collect, what=what)
    finally:
        await consumer.stop()
    return found


async def read_dead_letters(stack: Stack, topic: str, keys: set[str]) -> dict[str, dict[str, Any]]:
    """The dead letters with these keys on `topic`, read as an operator (the admin): value and
    headers, including the dlt_* ones."""
    def mine(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {r["key"]: r for r in found if r["key"] in keys}
    return mine(await read_topic(stack, topic, lambda found: mine(found).keys() == keys,
                                 what="dead letters"))


class Client:
    """One signed-in user talking to one service (intake unless told)."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack, user: str, service: str = "intake",
                 **claims: Any) -> None:
        self.http, self.base = http, stack.url(service)
        self.user_id: str = claims.get("sub", user)
        self.headers = bearer(stack.token(user, **claims))
        if self.user_id != user:  # a user of the test's own, placed where the token says
            enlist(stack, {self.user_id: [claims["agency"]] if claims.get("agency")
                           else offices_of(stack, user)})

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        r = await self.http.post(self.base + path, json=body, headers=self.headers)
        assert r.status_code == status, r.text
        return r.json()

    async def get(self, path: str, status: int = 200, **params: Any) -> Any:
        # None, not {}: httpx drops a query string the path carries when given params at all.
        r = await self.http.get(self.base + path, params=params or None, headers=self.headers)
        assert r.status_code == status, r.text
        return r.json()


def person(tag: str, **overrides: Any) -> dict[str, Any]:
    return {"family_name": "渡邊", "given_name": "一郎", "family_kana": "ワタナベ",
            "given_kana": f"イチロウ{tag}", "birth_date": "1950-06-15",
            "address": "東京都福生市加美平3丁目4番5号", **overrides}


def tag() -> str:
    """A unique suffix in kana, so that readings stay kana."""
    return "".join("アイウエオカキクケコ"[int(c, 16) % 10] for c in uuid.uuid4().hex[:6])



def offices_of(stack: Stack, user: str) -> list[str]:
    """Where the test stack's directory staffs `user`."""
    directory = json.loads((stack.home / "directory.json").read_text())
    return [o["id"] for o in directory["offices"] if user in o["staff"]]


def enlist(stack: Stack, placements: dict[str, list[str]]) -> None:
    """Staff each user id at these offices in the test stack's directory, as an operator would
    (a new office is a legal body of its own, a new "div-" office a division of the city), and
    block until referral has read it and every service's view holds it."""
    path = stack.home / "directory.json"
    directory = json.loads(path.read_text())
    offices = {o["id"]: o for o in directory["offices"]}
    for user, places in placements.items():
        for office in places:
            if office not in offices:
                body = "city" if office.startswith("div-") else f"{office}-hojin"
                if body != "city":
                    directory["legal_bodies"].append({"id": body, "kind": "npo", "label": body,
                                                      "participating": True})
                offices[office] = {"id": office, "legal_body": body, "label": office,
                                   "kind": "division_window" if body == "city" else "agency",
                                   "takes_handovers": True, "staff": []}
                directory["offices"].append(offices[office])
            offices[office]["staff"] = [*offices[office]["staff"], user]
    path.write_text(json.dumps(directory, ensure_ascii=False))
    with ThreadPoolExecutor(1) as worker:  # callers run inside an event loop of their own
        worker.submit(asyncio.run, _read_everywhere(
            stack, [user for user, places in placements.items() if places])).result()


async def _read_everywhere(stack: Stack, users: list[str]) -> None:
    async def read() -> bool:
        conn = await asyncpg.connect(databases.service_dsn(stack.postgres_port, "referral"))
        try:
            body = await conn.fetchval("SELECT body::text FROM directory_revisions "
                                       "ORDER BY revision DESC LIMIT 1")
        finally:
            await conn.close()
        return all(f'"{user}"' in (body or "") for user in users)

    try:
        await eventually(read, what="referral read the directory")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; referral's log ends: "
                             f"{stack.log('referral').read_text()[-2000:]}") from None
    await asyncio.to_thread(stack.wait_directory)
