"""One database and one login role per service, with pg_trgm available."""

from __future__ import annotations

import asyncpg


def role_for(service: str) -> str:
    return f"tsunagu_{service}"


def dev_password(service: str) -> str:
    # Local development only; deployments take the password from a secret (infra/deploy).
    return f"{role_for(service)}-dev"


def service_dsn(port: int, service: str, database: str | None = None) -> str:
    db = database or role_for(service)
    return f"postgresql://{role_for(service)}:{dev_password(service)}@127.0.0.1:{port}/{db}"


async def provision(superuser_dsn: str, service: str, database: str | None = None) -> None:
    """Create the service's role and database if missing (idempotent)."""
    role, db = role_for(service), database or role_for(service)
    conn = await asyncpg.connect(superuser_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD \'{dev_password(service)}\'')
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await conn.execute(f'CREATE DATABASE "{db}" OWNER "{role}" ENCODING \'UTF8\' '
                               "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    finally:
        await conn.close()
    # Extensions need a superuser; the service's own migrations may then use them.
    dbconn = await asyncpg.connect(superuser_dsn.rsplit("/", 1)[0] + f"/{db}")
    try:
        await dbconn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    finally:
        await dbconn.close()


async def drop(superuser_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(superuser_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()
