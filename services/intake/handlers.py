"""What intake does besides answering requests.

Consumed events: none of its own (the kit keeps every service's consent and meeting views).
Periodic: announce consents whose end date has passed, so every service's view records it.
Access already stops at the end date without this event: the policy compares with the clock.
"""

from __future__ import annotations

from kit.clock import now
from kit.inbox import Handlers
from kit.periodic import NewUow, Periodic

from .domain import consents as domain
from .store import consents as store

HANDLERS: Handlers = {}


async def announce_expired_consents(new_uow: NewUow) -> None:
    async with new_uow() as uow:
        at = now()
        for record in await store.due_for_expiry(uow.conn, at):
            expired = domain.expire(record, at)
            if expired:
                uow.record(expired)
                await store.mark_expiry_announced(uow.conn, record.id, at)
        await uow.commit()


PERIODIC = (Periodic("announce expired consents", 30.0, announce_expired_consents),)
