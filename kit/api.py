"""FastAPI dependencies every service's routes use (the HTTP edge only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from kit.settings import ServiceSettings
from kit.uow import UnitOfWork


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def _uow(request: Request) -> UnitOfWork:
    s = _settings(request)
    return UnitOfWork(request.app.state.pool, s.service, s.municipality_code)


async def _connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


SettingsDep = Annotated[ServiceSettings, Depends(_settings)]
UowDep = Annotated[UnitOfWork, Depends(_uow)]
ConnDep = Annotated[asyncpg.Connection, Depends(_connection)]
