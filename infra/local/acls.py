"""Apply infra/kafka/acls.json and the registered divisions to the broker: topics, SCRAM users,
ACLs (a principal ends with exactly the ACLs declared for it). Idempotent, so it runs on every
start and as the deployments' setup job:

    python -m infra.local.acls   # as the admin of TSUNAGU_KAFKA_* / ADMIN_KAFKA_* settings

The job reads each service's password from <SERVICE>_KAFKA_PASSWORD (the same secret the
service gets) and the topics' replication factor from TOPIC_REPLICATION_FACTOR (default 1).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from kit.kafka import connection, views_group
from kit.settings import load_settings

from .catalog import ROOT
from .kafka_admin import (
    CREATE,
    GROUP,
    PREFIXED,
    READ,
    TOPIC,
    TRANSACTIONAL_ID,
    WRITE,
    Acl,
    Binding,
    acls_of,
    create_acls,
    delete_acls,
    started_admin,
    upsert_scram_users,
)
from .topics import ensure_topics

ACLS_FILE = ROOT / "infra" / "kafka" / "acls.json"


def declared() -> dict[str, dict[str, list[str]]]:
    """service -> {"read": topics, "write": topics}, as infra/kafka/acls.json says."""
    services: dict[str, dict[str, list[str]]] = json.loads(ACLS_FILE.read_text())["services"]
    return services


def streams() -> dict[str, str]:
    """stream processor -> the prefix of what it owns (acls.json "streams")."""
    owned: dict[str, str] = json.loads(ACLS_FILE.read_text()).get("streams", {})
    return owned


def stream_grants(principal: str, prefix: str) -> list[Acl]:
    """What a faust app (services/statistics) needs beyond reading its sources: the changelog
    and leader topics it declares and uses, its consumer group (a new app version is a new
    group: a replay), and the transactional ids of exactly_once; all named after its id."""
    user = f"User:{principal}"
    return [*(Acl(user, TOPIC, f"{prefix}-", op, PREFIXED) for op in (READ, WRITE, CREATE)),
            Acl(user, GROUP, prefix, READ, PREFIXED),
            Acl(user, TRANSACTIONAL_ID, f"{prefix}-", WRITE, PREFIXED)]


def grants(principal: str, read: Iterable[str] = (), write: Iterable[str] = (),
           group: str | None = None) -> list[Acl]:
    """The bindings of one principal: topics it reads and writes, and its consumer group."""
    user = f"User:{principal}"
    acls = [Acl(user, TOPIC, t, READ) for t in read]
    acls += [Acl(user, TOPIC, t, WRITE) for t in write]
    if group:
        acls.append(Acl(user, GROUP, group, READ))
    return acls


def service_acls() -> list[Acl]:
    # The consumer groups are the service's name and its views lane's (kit/kafka.py).
    return [*(acl for name, g in declared().items()
              for acl in grants(name, g["read"], g["write"], group=name)),
            *(Acl(f"User:{name}", GROUP, views_group(name), READ) for name in declared()
              if name not in streams()),
            *(acl for name, prefix in streams().items() for acl in stream_grants(name, prefix))]


async def secure(admin: AIOKafkaAdminClient, passwords: Mapping[str, str],
                 acls: Iterable[Acl]) -> None:
    """Create or reset each principal's SCRAM credential, then make its ACLs exactly `acls`:
    what is missing is created, and what the broker holds beyond them is deleted."""
    await upsert_scram_users(admin, passwords)
    wanted = {acl.row for acl in acls}
    held: set[Binding] = set()
    for principal in passwords:
        held |= await acls_of(admin, f"User:{principal}")
    await create_acls(admin, wanted - held)
    await delete_acls(admin, held - wanted)


async def setup(client: Mapping[str, Any], passwords: Mapping[str, str], acls: Iterable[Acl],
                replication: int = 1) -> list[str]:
    """Topics, users and ACLs in one admin session; returns the topics it created."""
    admin = await started_admin(client)
    try:
        created = await ensure_topics(admin, replication)
        await secure(admin, passwords, acls)
        return created
    finally:
        await admin.close()


def main() -> None:
    admin = load_settings("admin")
    passwords = {}
    for name in declared():
        service = load_settings(name)
        if service.kafka_password is None:
            raise SystemExit(f"{name.upper()}_KAFKA_PASSWORD is not set")
        passwords[name] = service.kafka_password.get_secret_value()
    created = asyncio.run(setup(connection(admin), passwords, service_acls(),
                                int(os.environ.get("TOPIC_REPLICATION_FACTOR", "1"))))
    print("topics created:", created or "none", "; users and ACLs applied:", sorted(passwords))


if __name__ == "__main__":
    main()
