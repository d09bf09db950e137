"""Create the topics declared in infra/kafka/topics.json (idempotent)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from .catalog import ROOT

TOPICS_FILE = ROOT / "infra" / "kafka" / "topics.json"


def declared() -> list[dict[str, Any]]:
    topics: list[dict[str, Any]] = json.loads(TOPICS_FILE.read_text())["topics"]
    return topics


async def ensure_topics(bootstrap: str, timeout: float = 60.0) -> list[str]:
    """Create every declared topic that is missing; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in declared() if t["name"] not in existing]
        if missing:
            await admin.create_topics([
                NewTopic(t["name"], t["partitions"], 1, topic_configs=t["config"]) for t in missing])
        return [t["name"] for t in missing]
    finally:
        await admin.close()
