"""FastAPI dependencies every service's routes use (the HTTP edge only).

A request holds at most one pool connection at a time: either the bare connection of a read
(ConnDep) or the unit of work of a write (UowDep), and everything it does (access views, audit)
runs on that one. Both acquire with a timeout: overload answers 503, never hangs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request, Response
from pydantic import BaseModel

from kit import db, idempotency
from kit.auth import signed_in
from kit.settings import ServiceSettings
from kit.uow import UnitOfWork


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def unit_of_work(request: Request) -> UnitOfWork:
    """The route's unit of work; with an Idempotency-Key header it carries the key's claim.
    UowDep for most routes; the hottest ones call it themselves (one dependency fewer for
    FastAPI to solve per request, #14)."""
    principal = await signed_in(request)
    s = _settings(request)
    claim = await idempotency.claim_for(request, principal.user_id, s)
    return UnitOfWork(request.app.state.pool, s.service, s.municipality_code, claim,
                      s.pool_acquire_timeout_seconds, request.app.state.acquires)


async def _connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    # After sign-in, whatever the order of a route's parameters: no connection is held while a
    # token is checked (which may fetch the identity provider's keys).
    await signed_in(request)
    pool = request.app.state.pool
    conn = await db.acquire(pool, _settings(request).pool_acquire_timeout_seconds,
                            request.app.state.acquires)
    try:
        yield conn
    finally:
        await pool.release(conn)


async def _settings_dep(request: Request) -> ServiceSettings:
    """As a dependency, async: FastAPI runs a plain `def` dependency in a worker thread, a thread
    hop per request for a lookup (bench/PROFILE.md)."""
    return _settings(request)


def created(model: type[BaseModel], content: dict[str, Any], location: str) -> Response:
    """201 Created with its Location: `content` validated and serialized as `model`, as FastAPI
    does with a route's response_model (which still documents it). FastAPI passes a returned
    Response through as it is, so a route that returns this needs no Response parameter to
    set the header: one dependency fewer to solve per request (#14)."""
    return Response(model.model_validate(content).model_dump_json(by_alias=True), 201,
                    {"Location": location}, "application/json")


SettingsDep = Annotated[ServiceSettings, Depends(_settings_dep)]
UowDep = Annotated[UnitOfWork, Depends(unit_of_work)]
ConnDep = Annotated[asyncpg.Connection, Depends(_connection)]
