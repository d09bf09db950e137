"""Deliver due webhook deliveries: one drain task per subscriber, so a slow or dead subscriber
never holds up another; within one, at most `webhook_concurrency` requests in flight, each
bounded by a timeout.

A delivery is claimed under a lease (its next attempt is pushed past the timeout), posted, and
settled in its own transaction: delivered, or failed with the next try after an exponential
backoff with jitter, or parked after `webhook_max_failures`. A crash between the POST and the
settlement leaves it pending: it is posted again with the same webhook-id (at-least-once; the
receiver drops the repeat by that id).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from contracts.events.notifications import (
    NotificationDelivered,
    WebhookDeliveryFailed,
    WebhookParked,
)
from kit.clock import now
from kit.periodic import NewUow

from ..settings import NotificationSettings
from . import secrets, signing, store

log = logging.getLogger("notifications.webhooks")


class WebhookWorker:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self._drains: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
            self._client = httpx.AsyncClient(timeout=self.settings.webhook_timeout_seconds,
                                             limits=limits, follow_redirects=False)
        return self._client

    async def round(self, new_uow: NewUow) -> None:
        """Start a drain for every subscriber with due deliveries and none running."""
        # One plain read, no transaction: every `webhook_poll_seconds` (the delivery latency
        # subscribers see), BEGIN and ROLLBACK around it were two of its three round trips.
        async with new_uow().writing_at_commit() as uow:
            due = await store.due_subscribers(uow.conn, now())
        for sid in due:
            if sid not in self._drains:
                task = asyncio.create_task(self._drain(sid, new_uow))
                self._drains[sid] = task
                task.add_done_callback(self._forget(sid))

    def _forget(self, sid: uuid.UUID) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._drains.pop(sid, None)
        return forget

    async def _drain(self, sid: uuid.UUID, new_uow: NewUow) -> None:
        s = self.settings
        gate = asyncio.Semaphore(s.webhook_concurrency)
        try:
            while True:
                async with new_uow() as uow:
                    target = await store.signing(uow.conn, sid)
                    batch = await store.claim(uow.conn, sid, s.webhook_batch, now(),
                                              s.webhook_timeout_seconds + 5)
                    await uow.commit()
                if target is None or not batch:
                    return
                await asyncio.gather(*(self._one(gate, target, d, sid, new_uow) for d in batch))
        except Exception:
            log.exception("webhook drain of subscriber %s failed", sid)

    async def _one(self, gate: asyncio.Semaphore, target: asyncpg.Record, delivery: asyncpg.Record,
                   sid: uuid.UUID, new_uow: NewUow) -> None:
        kept = [target["secret"], *([target["previous_secret"]] if target["previous_secret"] else [])]
        body = bytes(delivery["body"])
        headers = signing.headers([secrets.unseal(sid, bytes(k)) for k in kept],
                                  str(delivery["id"]), int(now().timestamp()), body)
        status: int | None = None
        error: str | None = None
        async with gate:
            started = time.monotonic()
            try:
                response = await self.client().post(target["url"], content=body, headers=headers)
                status = response.status_code
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            took = int((time.monotonic() - started) * 1000)
        await self._settle(new_uow, delivery, sid, status, error, took)

    async def _settle(self, new_uow: NewUow, d: Any, sid: uuid.UUID, status: int | None,
                      error: str | None, took: int) -> None:
        s, at = self.settings, now()
        async with new_uow() as uow:
            n = await store.attempt(uow.conn, d["id"], at, status, error, took)
            if error is None:
                if await store.delivered(uow.conn, d["id"], at):  # its event, with the change
                    uow.record(NotificationDelivered(
                        notification_id=d["id"], recipient_kind="agency",
                        recipient_id=str(sid), about_type=d["event_type"],
                        about_id=d["about_id"], channel="webhook", delivered_at=at))
            else:
                failures = d["failures"] + 1
                parked = failures >= s.webhook_max_failures
                wait = signing.backoff(failures, s.webhook_retry_base_seconds, s.webhook_retry_cap_seconds)
                await store.settle(uow.conn, d["id"], "parked" if parked else "pending", failures,
                                   at + timedelta(seconds=wait), error)
                uow.record(WebhookDeliveryFailed(delivery_id=d["id"], subscriber_id=sid,
                                                 event_type=d["event_type"], attempt=n,
                                                 status_code=status, failed_at=at))
                if parked:
                    uow.record(WebhookParked(delivery_id=d["id"], subscriber_id=sid,
                                             event_type=d["event_type"], failures=failures,
                                             parked_at=at))
            await uow.commit()
