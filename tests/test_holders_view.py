"""The holders view moved from plans' and meetings' own tables into the kit's: a deployed city,
upgraded, still knows every holder it knew (a database migrated as it was, then upgraded)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest

from infra.local import databases
from infra.local.stack import Stack
from kit import views
from kit.migrate import migrate

SERVICES = Path(__file__).resolve().parent.parent / "services"
MOVED_BY = {"plans": "0002_holders_to_kit.sql", "meetings": "0006_holders_to_kit.sql"}


@pytest.mark.parametrize("service", sorted(MOVED_BY))
async def test_an_upgraded_city_keeps_every_holder(service: str, stack: Stack, tmp_path: Path) -> None:
    name = f"holdersup{service}"
    await databases.provision(stack.postgres.superuser_dsn(), name)
    owner = databases.owner_dsn(stack.postgres_port, name)
    migrations = SERVICES / service / "migrations"
    for path in sorted(migrations.glob("*.sql")):  # the service as deployed before the move
        if path.name < MOVED_BY[service]:
            shutil.copy(path, tmp_path)
    await migrate(owner, databases.app_role(name), service, tmp_path)
    alone, pair, consultation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(owner)
    try:
        await conn.executemany("INSERT INTO case_holders_view VALUES ($1, '999999', $2)",
                               [(alone, "div-kaigo"), (pair, "div-kaigo"), (pair, "general-desk"),
                                (consultation, "general-desk")])
        applied = await migrate(owner, databases.app_role(name), service, migrations)
        assert applied == [f"{service}/{MOVED_BY[service]}"]
        assert await conn.fetchval("SELECT to_regclass('case_holders_view')") is None
        assert await views.holders_of(conn, [alone, pair, consultation, uuid.uuid4()]) == {
            alone: {"div-kaigo"}, pair: {"div-kaigo", "general-desk"}, consultation: {"general-desk"}}
        assert await views.holding_every(conn, [alone, pair]) == {"div-kaigo"}
        assert await views.holding_every(conn, [pair, consultation]) == {"general-desk"}
    finally:
        await conn.close()
