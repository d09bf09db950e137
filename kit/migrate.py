"""Numbered plain-SQL migrations: the kit's own tables first, then the service's.

Applied at start under an advisory lock, so two replicas starting together cannot race; one
transaction per file, recorded in schema_migrations.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

KIT_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK = "tsunagu.migrations"

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component  text NOT NULL,
    version    text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)"""


async def migrate(owner_dsn: str, app_role: str, service: str, service_migrations: Path) -> list[str]:
    """Apply what is missing, connected as the owner role; return the files applied.

    Migrations read the runtime role's name from the setting `tsunagu.app_role`, to grant it
    or take from it what it may do (e.g. audit rows: insert, never update or delete).
    """
    applied: list[str] = []
    conn = await asyncpg.connect(owner_dsn)
    try:
        await conn.execute("SELECT set_config('tsunagu.app_role', $1, false)", app_role)
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", _LOCK)
        try:
            await conn.execute(_LEDGER)
            for component, folder in (("kit", KIT_MIGRATIONS), (service, service_migrations)):
                done = {r["version"] for r in await conn.fetch(
                    "SELECT version FROM schema_migrations WHERE component = $1", component)}
                for path in sorted(folder.glob("*.sql")):
                    if path.name in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(path.read_text())
                        await conn.execute(
                            "INSERT INTO schema_migrations (component, version) VALUES ($1, $2)",
                            component, path.name)
                    applied.append(f"{component}/{path.name}")
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", _LOCK)
    finally:
        await conn.close()
    return applied
