"""FastAPI dependencies every service's routes use (the HTTP edge only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from kit import idempotency
from kit.auth import PrincipalDep
from kit.settings import ServiceSettings
from kit.uow import UnitOfWork


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def _uow(request: Request, principal: PrincipalDep) -> UnitOfWork:
    """The route's unit of work; with an Idempotency-Key header it carries the key's claim."""
    s = _settings(request)
    claim = await idempotency.claim_for(request, principal.user_id, s)
    return UnitOfWork(request.app.state.pool, s.service, s.municipality_code, claim)


async def _connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


SettingsDep = Annotated[ServiceSettings, Depends(_settings)]
UowDep = Annotated[UnitOfWork, Depends(_uow)]
ConnDep = Annotated[asyncpg.Connection, Depends(_connection)]
