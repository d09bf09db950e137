"""Create the topics declared in infra/kafka/topics.json (idempotent)."""

from __future__ import annotations

import json
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from .catalog import ROOT

TOPICS_FILE = ROOT / "infra" / "kafka" / "topics.json"


def declared() -> list[dict[str, Any]]:
    topics: list[dict[str, Any]] = json.loads(TOPICS_FILE.read_text())["topics"]
    return topics


async def ensure_topics(admin: AIOKafkaAdminClient, replication: int = 1) -> list[str]:
    """Create every declared topic that is missing; return the names created."""
    existing = set(await admin.list_topics())
    missing = [t for t in declared() if t["name"] not in existing]
    if missing:
        await admin.create_topics([NewTopic(t["name"], t["partitions"], replication,
                                            topic_configs=t["config"]) for t in missing])
    return [t["name"] for t in missing]
