"""The counting stream: a faust app reading every *.events topic into a table kept in Kafka.

Why faust here (and only here, see research/architecture.md §2): the state is counts over every
service's stream, with no database of its own; faust keeps it in a table whose changelog topic it
declares and restores it from there after a restart.

Exact under a crash by construction, not by transactions. Each event's whole effect (a
domain.Tally) is ONE table entry under its CloudEvents id, so ONE changelog record: after a
SIGKILL it is there or not, never in part. Delivery is at least once (offsets are committed after
the changelog is flushed), and an event delivered again, or published twice upstream with the
same id, finds its entry and changes nothing. The figures are added up from the entries when read
(domain.figures), so their order does not matter either.

faust's processing_guarantee="exactly_once" is not used: it only takes effect inside faust's
own Worker (App.in_transaction is `in_worker and exactly_once`), and this app runs inside the
HTTP service's lifespan, so it had been at-least-once all along while several table keys per
event were written as separate changelog records: a kill between them lost or doubled part of
an event (issue 17's "stall": a figure one short for good). Forced on, faust 0.15.3's
transactional path reads its recovery highwaters from the consumer's last stable offset before
any fetch (None, so -1) and logs invalid transaction state transitions at each rebalance.
concurrency stays 1 (faust #606). A new app version (STATISTICS_VERSION) is a new group with a
new table: a replay from offset zero.
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

from .domain import SEP, FigureKey, Tally, month_of, tally
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
            processing_guarantee="at_least_once", store="memory://", web_enabled=False,
            autodiscover=False, topic_partitions=PARTITIONS, topic_replication_factor=1,
            consumer_auto_offset_reset="earliest", broker_commit_interval=0.5,
            stream_wait_empty=False, table_standby_replicas=0,
            # A worker that died holds its partitions until this passes: its replacement waits.
            broker_session_timeout=10, broker_heartbeat_interval=2)
        # Let a batch's changelog records queue before the stream waits for them to be sent.
        self.app.producer.buffer.max_messages = 2000
        # CloudEvents id (a record's topic|partition|offset when it has none) -> its Tally, as JSON
        self.effects = self.app.Table("effects", default=str, partitions=PARTITIONS,
                                      key_type=str, value_type=str)
        self._parsed: dict[str, tuple[str, Tally]] = {}  # the entries read back, parsed once
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
        # An event is kept under its CloudEvents id; a record without one under where it lies.
        key = str(read[0].id) if read else SEP.join((message.topic, str(message.partition),
                                                     str(message.offset)))
        if key in self.effects:  # delivered again, or published twice: counted already
            self.counted.labels("duplicate").inc()
        elif read is None:  # never fatal: counted as unreadable, by topic, in the month it arrived
            figure = FigureKey(self.settings.municipality_code, _month_of(message.timestamp),
                               UNREADABLE, message.topic)
            self._keep(key, Tally(counts=[figure]), "unreadable")
        elif (spec := BY_CE_TYPE.get(read[0].type)) is None:
            envelope = read[0]
            unknown = FigureKey(envelope.municipality, month_of(envelope.time), UNKNOWN_TYPES,
                                envelope.type.replace(SEP, "/")[:120])
            self._keep(key, Tally(counts=[unknown]), "unknown")
        else:
            envelope, data = read
            self._keep(key, tally(self.indicators, spec.name, envelope.municipality, envelope.time,
                                  data), "counted")

    def _keep(self, key: str, effect: Tally, how: str) -> None:
        self.effects[key] = effect.dumps()  # one changelog record: the event's whole effect
        self.counted.labels(how).inc()

    def tallies(self) -> list[Tally]:
        """Every effect counted so far (each entry parsed once, again only if it changed)."""
        out = []
        for key, raw in list(self.effects.items()):
            cached = self._parsed.get(key)
            if cached is None or cached[0] != raw:
                cached = self._parsed[key] = (raw, Tally.loads(raw))
            out.append(cached[1])
        return out


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
