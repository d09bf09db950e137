"""The counting stream: a faust app reading every *.events topic into tables kept in Kafka.

Why faust here (and only here, see research/architecture.md §2): the state is counts over every
service's stream, with no database of its own; faust keeps it in tables whose changelog topics
it declares, and under processing_guarantee="exactly_once" a batch's table changes and its
source offsets commit in one Kafka transaction, so a consumer killed mid-batch changes no
figure. What exactly_once cannot see is an event published twice upstream (an outbox relay's
at-least-once duplicate: the same CloudEvents id): the `seen` table drops those. concurrency
stays 1 (faust #606). A new app version (STATISTICS_VERSION) is a new group with new tables:
a replay from offset zero.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT
from prometheus_client import CollectorRegistry, Counter

from contracts.envelope import Envelope
from contracts.registry import BY_CE_TYPE, topics
from kit import kafka
from kit.settings import ServiceSettings

from .domain import FigureKey, Tally, elapsed, month_of, tally
from .indicators import UNKNOWN_TYPES, UNREADABLE, Indicator

log = logging.getLogger("statistics.stream")
APP_ID = "statistics"  # its principal owns what starts with it (infra/kafka/acls.json "streams")
PARTITIONS = 3  # as every *.events topic (infra/kafka/topics.json): tables are co-partitioned


class Counting:
    def __init__(self, settings: ServiceSettings, indicators: Iterable[Indicator], version: int,
                 registry: CollectorRegistry) -> None:
        self.settings = settings
        self.indicators = tuple(indicators)
        client = kafka.connection(settings)
        self.app = faust.App(
            APP_ID, version=version, broker=f"kafka://{settings.kafka_bootstrap}",
            broker_credentials=faust.SASLCredentials(
                username=client["sasl_plain_username"], password=client["sasl_plain_password"],
                ssl_context=client["ssl_context"], mechanism=settings.kafka_sasl_mechanism),
            processing_guarantee="exactly_once", store="memory://", web_enabled=False,
            autodiscover=False, topic_partitions=PARTITIONS, topic_replication_factor=1,
            consumer_auto_offset_reset="earliest", broker_commit_interval=0.5,
            stream_wait_empty=False, table_standby_replicas=0,
            # A worker that died holds its partitions until this passes: its replacement waits.
            broker_session_timeout=10, broker_heartbeat_interval=2)
        # An event changes up to ~8 table keys, each one changelog record: let a batch's records
        # queue before the stream waits for them (faust's default, 100, stalls it every ~15 events).
        self.app.producer.buffer.max_messages = 2000
        # municipality|month|indicator|breakdown|partition -> count
        self.figures = self.app.Table("figures", default=int, partitions=PARTITIONS,
                                      key_type=str, value_type=int)
        # CloudEvents id -> 1 once counted
        self.seen = self.app.Table("seen", default=int, partitions=PARTITIONS, key_type=str,
                                   value_type=int)
        # indicator|join value -> the date its clock started (a referral's, never a person's)
        self.started = self.app.Table("started", default=str, partitions=PARTITIONS,
                                      key_type=str, value_type=str)
        # indicator|join value -> the record standing for it (a stock's: domain.in_force)
        self.standing = self.app.Table("standing", default=str, partitions=PARTITIONS,
                                       key_type=str, value_type=str)
        self.source = self.app.topic(*topics(), key_serializer="raw", value_serializer="raw")
        self.app.agent(self.source, name="count", concurrency=1)(self._count)
        self.counted = Counter("statistics_events_counted", "Source events taken into the tables, "
                               "by how (counted, duplicate, unknown, unreadable)", ["how"],
                               registry=registry)

    async def _count(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            self.apply(event)

    def apply(self, event: EventT[bytes]) -> None:
        message = event.message
        read = _read(message.headers, event.value)
        if read is None:  # never fatal: counted as unreadable, by topic, in the month it arrived
            figure = FigureKey(self.settings.municipality_code, _month_of(message.timestamp),
                               UNREADABLE, message.topic)
            self._add(Tally(counts=[figure]), message.partition, "unreadable")
            return
        envelope, data = read
        eid = str(envelope.id)
        if self.seen[eid]:
            self.counted.labels("duplicate").inc()
            return
        self.seen[eid] = 1
        spec = BY_CE_TYPE.get(envelope.type)
        if spec is None:
            unknown = FigureKey(envelope.municipality, month_of(envelope.time), UNKNOWN_TYPES,
                                envelope.type.replace("|", "/")[:120])
            self._add(Tally(counts=[unknown]), message.partition, "unknown")
            return
        self._add(tally(self.indicators, spec.name, envelope.municipality, envelope.time, data),
                  message.partition, "counted")

    def _add(self, effect: Tally, partition: int, how: str) -> None:
        for joined, day in effect.starts.items():
            self.started[joined] = day.isoformat()
        for joined, record in effect.standing.items():
            self.standing[joined] = record  # the latest event of an object stands
        counts = list(effect.counts)
        for joined, figure, ended in effect.ends:
            started = self.started[joined]
            if started:  # the first answer stops the clock; later ones do not count again
                counts.append(FigureKey(figure.municipality, figure.month, figure.indicator,
                                        elapsed(datetime.fromisoformat(started).date(), ended)))
                del self.started[joined]
        for figure in counts:
            key = figure.encode(partition)
            self.figures[key] += 1
        self.counted.labels(how).inc()

    def entries(self) -> list[tuple[str, int]]:
        return list(self.figures.items())

    def standing_entries(self) -> list[tuple[str, str]]:
        return list(self.standing.items())


def _read(headers: Any, value: bytes | None) -> tuple[Envelope, dict[str, Any]] | None:
    """The CloudEvents attributes (contracts/envelope.py) and the JSON object of a record."""
    try:
        pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
        envelope = Envelope.from_headers(list(pairs))
        data = json.loads(value or b"{}")
    except (ValueError, TypeError, AttributeError):
        return None
    return (envelope, data) if isinstance(data, dict) else None


def _month_of(seconds: float | None) -> str:
    """The month of a record's broker timestamp (faust gives it in seconds)."""
    return month_of(datetime.fromtimestamp(seconds or 0, UTC))
