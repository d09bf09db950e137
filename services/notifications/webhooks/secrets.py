"""Subscribers' signing secrets, sealed at rest (kit/sealing.py): signing needs them back, so
they are encrypted rather than hashed, each bound to its subscriber's id. An operator sees one
once, when it is issued (registration, rotation); no list, log or error shows it again.

Secrets kept in the clear before (notifications migration 0007 turned them into bytes: SQL cannot
seal, the key is a setting) are sealed by `seal_kept_in_clear`, a periodic job, at start and
again should a restored backup bring one back; until then they sign as they are.
"""

from __future__ import annotations

import uuid
from functools import cache

from kit import sealing
from kit.periodic import NewUow
from kit.settings import load_settings

from . import signing, store


@cache
def _key() -> bytes:
    return sealing.key_for(load_settings("notifications"), "webhook secrets")


def seal(sid: uuid.UUID, secret: str) -> bytes:
    return sealing.seal(_key(), secret.encode(), sid.bytes)


def unseal(sid: uuid.UUID, kept: bytes) -> str:
    if kept.startswith(signing.PREFIX.encode()):  # in the clear: not sealed yet
        return kept.decode()
    return sealing.unseal(_key(), kept, sid.bytes).decode()


async def seal_kept_in_clear(new_uow: NewUow) -> None:
    async with new_uow() as uow:
        for row in await store.kept_in_clear(uow.conn, signing.PREFIX.encode()):
            secret, previous = bytes(row["secret"]), row["previous_secret"]
            await store.reseal(uow.conn, row["id"], secret, previous and bytes(previous),
                               seal(row["id"], unseal(row["id"], secret)),
                               previous and seal(row["id"], unseal(row["id"], bytes(previous))))
        await uow.commit()
