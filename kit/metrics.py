"""Prometheus metrics of one service, in a registry of its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.request_seconds = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"],
            registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.outbox_backlog = Gauge("outbox_backlog", "Outbox rows not yet published", registry=r)
        self.outbox_oldest_age = Gauge("outbox_oldest_age_seconds",
                                       "Age of the oldest unpublished outbox row", registry=r)
        self.audit_unchained = Gauge("audit_unchained", "Audit records committed and not yet "
                                     "chained (kit/audit.py chain)", registry=r)
        self.audit_unchained_oldest_age = Gauge("audit_unchained_oldest_age_seconds",
                                                "Age of the oldest audit record not yet chained",
                                                registry=r)
        self.consumer_lag = Gauge("consumer_lag", "Records behind the partition's end",
                                  ["consumer", "topic", "partition"], registry=r)
        self.dead_letters = Counter("dead_letters", "Events sent to the dead-letter topic",
                                    ["consumer"], registry=r)
        self.dead_letters_stored = Gauge("dead_letters_stored",
                                         "Dead letters neither replayed nor discarded",
                                         registry=r)
        self.inbox_duplicates = Counter("inbox_duplicates", "Redelivered events skipped by the inbox",
                                        ["consumer"], registry=r)
        self.outbox_parked = Counter("outbox_parked", "Outbox rows this process's relay set aside",
                                     registry=r)
        self.outbox_parked_stored = Gauge("outbox_parked_stored",
                                          "Outbox rows parked and not re-queued", registry=r)
        self.events_ignored = Counter("events_ignored", "Events on subscribed topics not handled "
                                      "here, by why", ["consumer", "reason"], registry=r)
        # What /readyz and /healthz answer, for alerting from the same scrape.
        self.database_reachable = Gauge("database_reachable", "1 when the database answered "
                                        "this scrape (/readyz)", registry=r)
        self.pool_starved_seconds = Gauge("pool_starved_seconds", "Seconds without a connection "
                                          "while requests timed out waiting (/healthz)", registry=r)
        # How late a short sleep woke (kit/stalls.py): how long the loop was held by one piece
        # of work, every request and event in flight waiting through it.
        self.loop_lag = Histogram("event_loop_lag_seconds", "Lateness of the event loop's "
                                  "probe: how long it was held", registry=r,
                                  buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.outbox_published = Gauge("outbox_published", "Rows this process's relay published",
                                      registry=r)
