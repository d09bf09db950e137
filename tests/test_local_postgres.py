"""How the local stack's services reach PostgreSQL: over its Unix-domain socket, each with its own
role and password (infra/local/postgres.py's pg_hba.conf); TCP on 127.0.0.1 stays open."""

from __future__ import annotations

import getpass

import asyncpg
import pytest

from infra.local import databases
from infra.local.catalog import STREAM_SERVICES
from infra.local.stack import Stack
from tests.helpers import eventually


async def test_every_service_connects_over_the_socket_as_its_own_app_role(stack: Stack) -> None:
    services = [name for name in stack.service_ports if name not in STREAM_SERVICES]
    su = await asyncpg.connect(stack.postgres.superuser_dsn())
    try:
        async def over_socket() -> bool:
            rows = await su.fetch("SELECT DISTINCT datname FROM pg_stat_activity "
                                  "WHERE client_addr IS NULL AND backend_type = 'client backend' "
                                  "AND usename = datname || '_app'")
            return {r["datname"] for r in rows} >= {databases.database_for(s) for s in services}
        await eventually(over_socket, what="a socket connection of every service's app role")
    finally:
        await su.close()
    for name in services:
        env = stack.service_env(name)
        assert f"host={stack.postgres.socket_dir}" in env[f"{name.upper()}_DATABASE_URL"]


async def test_the_socket_asks_every_role_but_the_postgres_users_own_for_its_password(
        stack: Stack) -> None:
    where = {"host": str(stack.postgres.socket_dir), "port": stack.postgres_port}
    app = databases.app_role("intake")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(**where, user=app, password="not-" + databases.dev_password(app),
                              database=databases.database_for("intake"))
    if getpass.getuser() != "postgres":  # peer: only that OS user is the superuser here
        with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
            await asyncpg.connect(**where, user="postgres", password=stack.postgres.password,
                                  database="postgres")


async def test_tcp_still_serves_the_same_roles(stack: Stack) -> None:
    conn = await asyncpg.connect(databases.service_dsn(stack.postgres_port, "intake"))
    try:
        assert await conn.fetchval("SELECT inet_client_addr() = '127.0.0.1'")
        assert await conn.fetchval("SELECT current_user") == databases.app_role("intake")
    finally:
        await conn.close()
