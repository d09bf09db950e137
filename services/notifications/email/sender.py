"""Queue the e-mails of new inbox items, and send them over SMTP (aiosmtplib).

Queued in the transaction that files the item, so an event yields its e-mails once; sent by a
periodic worker under a lease, each marked sent in its own transaction. A crash between the
SMTP server's acceptance and that mark resends the mail with the same Message-ID (the one
duplicate SMTP cannot rule out; clients show it once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import aiosmtplib
import asyncpg

from contracts.events.notifications import NotificationDelivered
from kit.clock import now
from kit.periodic import NewUow

from .. import digest
from ..domain import InboxItem
from ..settings import NotificationSettings
from ..webhooks.signing import backoff
from . import store
from .compose import compose

log = logging.getLogger("notifications.email")


class AddressBook:
    """The operator's file {user id: address}, read again when it changes."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self._stamp: float | None = None
        self._addresses: dict[str, str] = {}

    def get(self, user_id: str) -> str | None:
        if self.path is None:
            return None
        try:
            stamp = self.path.stat().st_mtime
            if stamp != self._stamp:
                self._addresses = json.loads(self.path.read_text(encoding="utf-8"))
                self._stamp = stamp
        except (OSError, ValueError):
            log.warning("e-mail address file %s unreadable; keeping the last one", self.path)
        return self._addresses.get(user_id)


class Mailer:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self.addresses = AddressBook(settings.email_addresses_file)

    @property
    def enabled(self) -> bool:
        return self.settings.smtp_host is not None

    async def queue(self, conn: asyncpg.Connection, item: InboxItem, municipality: str,
                    at: datetime) -> None:
        """The item's e-mails: to the user, or to each staff member of the office."""
        if not self.enabled:
            return
        users = [item.recipient_id] if item.recipient_kind == "user" else \
            await store.staff(conn, item.recipient_id)
        for user in users:
            address = self.addresses.get(user)
            if address is None:
                continue
            email_id = uuid.uuid5(item.id, f"email:{user}")
            mail = compose(item.message, email_id, self.settings.email_from, address,
                           self.settings.public_base_url)
            await store.enqueue(conn, email_id, municipality, item.id, user, address, bytes(mail), at)

    async def digests(self, new_uow: NewUow) -> None:
        """Today's digests, once per user (the day's mark commits with the queued mail)."""
        at, s = now(), self.settings
        day = digest.due(at, s.digest_hour)
        if not self.enabled or day is None:
            return
        async with new_uow() as uow:
            m = uow.municipality
            for user in await store.digest_users(uow.conn, m, day):
                if not await store.mark_digest(uow.conn, user, day):
                    continue
                email_id = uuid.uuid5(uuid.NAMESPACE_URL, f"tsunagu:digest:{m}:{user}:{day}")
                msg = digest.message(day, await store.unread_by_kind(uow.conn, user, m), at, email_id)
                address = self.addresses.get(user)
                if msg is not None and address is not None:
                    mail = compose(msg, email_id, s.email_from, address, s.public_base_url)
                    await store.enqueue(uow.conn, email_id, m, None, user, address, bytes(mail), at)
            await uow.commit()

    async def round(self, new_uow: NewUow) -> None:
        if not self.enabled:
            return
        s = self.settings
        async with new_uow() as uow:
            batch = await store.claim(uow.conn, 50, now(), s.smtp_timeout_seconds + 5)
            await uow.commit()
        gate = asyncio.Semaphore(4)
        await asyncio.gather(*(self._send(gate, new_uow, row) for row in batch))

    async def _send(self, gate: asyncio.Semaphore, new_uow: NewUow, row: asyncpg.Record) -> None:
        s, error = self.settings, None
        async with gate:
            try:
                await aiosmtplib.send(
                    bytes(row["message"]), hostname=s.smtp_host, port=s.smtp_port,
                    start_tls=s.smtp_starttls, username=s.smtp_username,
                    password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                    timeout=s.smtp_timeout_seconds, sender=s.email_from,
                    recipients=[row["address"]])
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        at = now()
        async with new_uow() as uow:
            if error is None:
                # A digest is about no one item: only an item's e-mail is a NotificationDelivered.
                if await store.sent(uow.conn, row["id"], at) and row["about_id"] is not None:
                    uow.record(NotificationDelivered(
                        notification_id=row["id"], recipient_kind="user", recipient_id=row["user_id"],
                        about_type=row["about_type"], about_id=row["about_id"], channel="email",
                        delivered_at=at))
            else:
                failures = row["failures"] + 1
                wait = backoff(failures, s.webhook_retry_base_seconds, s.webhook_retry_cap_seconds)
                await store.settle(uow.conn, row["id"],
                                   "failed" if failures >= s.email_max_failures else "pending",
                                   failures, at + timedelta(seconds=wait), error)
            await uow.commit()
