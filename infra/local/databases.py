"""One database per service, with two roles: the owner runs migrations, the app role serves.

The app role gets SELECT/INSERT/UPDATE/DELETE on the owner's tables by default privileges; a
migration can then take rights back (audit rows are insert-only for the app role).
"""

from __future__ import annotations

from urllib.parse import quote

import asyncpg

TCP_HOST = "127.0.0.1"


def database_for(service: str) -> str:
    return f"tsunagu_{service}"


def owner_role(service: str) -> str:
    return f"tsunagu_{service}"


def app_role(service: str) -> str:
    return f"tsunagu_{service}_app"


def dev_password(role: str) -> str:
    # Local development only; deployments take passwords from a secret (infra/deploy).
    return f"{role}-dev"


def _dsn(port: int, role: str, db: str, host: str) -> str:
    """A DSN over TCP to `host`, or over the Unix-domain socket in `host` if it is a directory."""
    if host.startswith("/"):
        return f"postgresql://{role}:{dev_password(role)}@/{db}?host={quote(host)}&port={port}"
    return f"postgresql://{role}:{dev_password(role)}@{host}:{port}/{db}"


def service_dsn(port: int, service: str, host: str = TCP_HOST) -> str:
    """The runtime (app role) connection of a service."""
    return _dsn(port, app_role(service), database_for(service), host)


def owner_dsn(port: int, service: str, host: str = TCP_HOST) -> str:
    """The migration (owner role) connection of a service."""
    return _dsn(port, owner_role(service), database_for(service), host)


async def provision(superuser_dsn: str, service: str) -> None:
    """Create the service's roles and database if missing (idempotent)."""
    owner, app, db = owner_role(service), app_role(service), database_for(service)
    conn = await asyncpg.connect(superuser_dsn)
    try:
        for role in (owner, app):
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                await conn.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD \'{dev_password(role)}\'')
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await conn.execute(f'CREATE DATABASE "{db}" OWNER "{owner}" ENCODING \'UTF8\' '
                               "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    finally:
        await conn.close()
    dbconn = await asyncpg.connect(superuser_dsn.rsplit("/", 1)[0] + f"/{db}")
    try:
        # Extensions need a superuser; the service's own migrations may then use them.
        await dbconn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        await dbconn.execute(f'REVOKE CREATE ON SCHEMA public FROM PUBLIC; '
                             f'GRANT CONNECT ON DATABASE "{db}" TO "{app}"; '
                             f'GRANT USAGE ON SCHEMA public TO "{app}"')
        await dbconn.execute(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
                             f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app}"')
        await dbconn.execute(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
                             f'GRANT USAGE, SELECT ON SEQUENCES TO "{app}"')
    finally:
        await dbconn.close()
