"""Which database errors are outages (retried without limit) and which are the handler's own."""

from __future__ import annotations

import asyncpg
import pytest

from kit.db import is_outage


def _pg(cls: type[asyncpg.PostgresError]) -> asyncpg.PostgresError:
    return cls("from the server")


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "refused"), ConnectionResetError(), TimeoutError(),
    asyncpg.InternalClientError("got result for unknown protocol state 3"),
    asyncpg.InterfaceError("cannot perform operation: connection is closed"),
    _pg(asyncpg.ConnectionDoesNotExistError),  # 08003
    _pg(asyncpg.CannotConnectNowError),  # 57P03: the database is starting up
    _pg(asyncpg.AdminShutdownError),  # 57P01
    _pg(asyncpg.TooManyConnectionsError),  # 53300
    _pg(asyncpg.SerializationError), _pg(asyncpg.DeadlockDetectedError),  # 40001, 40P01
    _pg(asyncpg.ReadOnlySQLTransactionError),  # 25006: a standby before its promotion
])
def test_outages(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize("exc", [
    ValueError("a handler's own bug"), KeyError("field"),
    _pg(asyncpg.UniqueViolationError), _pg(asyncpg.UndefinedColumnError),
    _pg(asyncpg.InvalidTextRepresentationError),
    asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"),
    asyncpg.DataError("invalid input for query argument $1"),
])
def test_the_handlers_own_failures(exc: BaseException) -> None:
    assert not is_outage(exc)


def test_an_outage_raised_from_keeps_its_cause() -> None:
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError as inner:
            raise RuntimeError("store failed") from inner
    except RuntimeError as outer:
        assert is_outage(outer)
