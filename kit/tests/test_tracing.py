"""Where spans go (Zipkin, or OTLP for a city's own collector, or nowhere), which are kept, that
a URL leaves without its query string or ids, and how database work shows (kit/db.py)."""

import os

import asyncpg
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind, Tracer

from kit import db
from kit.settings import load_settings
from kit.tracing import JourneysOnly, Redacting, exporter

ZIPKIN = "http://127.0.0.1:9411/api/v2/spans"


def test_zipkin_when_the_settings_name_it() -> None:
    chosen = exporter(load_settings("intake", {"TSUNAGU_ZIPKIN_ENDPOINT": ZIPKIN}).zipkin_endpoint, {})
    assert isinstance(chosen, ZipkinExporter) and chosen.endpoint == ZIPKIN
    assert exporter(load_settings("intake", {}).zipkin_endpoint, {}) is None  # none: nothing leaves


@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_ENDPOINT",
                                      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
def test_otlp_replaces_zipkin_for_a_citys_own_collector(variable: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "http://collector.city.example:4318/v1/traces")
    chosen = exporter(ZIPKIN, os.environ)
    assert isinstance(chosen, OTLPSpanExporter)
    assert chosen._endpoint.startswith("http://collector.city.example:4318")


def _recorded() -> tuple[TracerProvider, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(JourneysOnly()))
    provider.add_span_processor(Redacting(SimpleSpanProcessor(spans)))
    return provider, spans


def test_a_trace_begins_with_a_request_or_an_event_never_with_a_poll() -> None:
    provider, spans = _recorded()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT):  # the relay's poll
        pass
    with (tracer.start_as_current_span("intake.events process", kind=SpanKind.CONSUMER),
          tracer.start_as_current_span("INSERT", kind=SpanKind.CLIENT)):  # the handler's work
        pass
    with tracer.start_as_current_span("intake.events publish", kind=SpanKind.PRODUCER):
        pass
    assert [(s.name, s.kind) for s in spans.get_finished_spans()] == [
        ("INSERT", SpanKind.CLIENT), ("intake.events process", SpanKind.CONSUMER),
        ("intake.events publish", SpanKind.PRODUCER)]


def test_urls_leave_without_query_strings_or_ids() -> None:
    provider, spans = _recorded()
    person = "0b9c2f4e-3a1d-4c5e-9f7a-1b2c3d4e5f60"
    with provider.get_tracer("test").start_as_current_span("GET", kind=SpanKind.SERVER, attributes={
            "http.url": f"http://127.0.0.1:8001/persons/{person}?family_name=秘密",
            "url.query": "family_name=秘密", "http.route": "/persons/{person_id}"}):
        pass
    [span] = spans.get_finished_spans()
    assert span.attributes == {"http.url": "http://127.0.0.1:8001/persons/{id}",
                               "http.route": "/persons/{person_id}"}


def _within(inner: ReadableSpan, outer: ReadableSpan) -> bool:
    times = [outer.start_time, inner.start_time, inner.end_time, outer.end_time]
    return None not in times and times == sorted(t or 0 for t in times)


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> tuple[Tracer, InMemorySpanExporter]:
    """A tracer for the test's own spans; the pool's database spans recorded beside them."""
    provider, spans = _recorded()
    monkeypatch.setattr(db, "tracer", provider.get_tracer("kit.db"))
    return provider.get_tracer("test"), spans


async def test_a_requests_database_work_is_one_span_without_sql(
        pool: asyncpg.Pool, traced: tuple[Tracer, InMemorySpanExporter]) -> None:
    tracer, spans = traced
    with tracer.start_as_current_span("POST /consultations", kind=SpanKind.SERVER):
        conn = await db.acquire(pool, 5)
        try:
            async with conn.transaction():
                assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
                await conn.execute("SELECT pg_sleep($1)", 0)
                await conn.executemany("SELECT $1::int", [(1,), (2,)])
        finally:
            await pool.release(conn)
    [query, request] = spans.get_finished_spans()
    assert query.kind is SpanKind.CLIENT and query.parent == request.context
    assert query.name == "SELECT tsunagu_kittest"
    assert query.attributes == {"db.system": "postgresql", "db.name": "tsunagu_kittest",
                                "db.user": "tsunagu_kittest_app", "db.operation": "SELECT",
                                "db.statements": 5}  # BEGIN, three statements, COMMIT
    assert _within(query, request)


async def test_each_events_database_work_is_in_its_own_trace_the_pollers_in_none(
        pool: asyncpg.Pool, traced: tuple[Tracer, InMemorySpanExporter]) -> None:
    """A consumer's transaction opens before the events' spans and commits after them; the
    relay polls outside any span, and publishes with the instrumentation suppressed."""
    tracer, spans = traced
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchval("SELECT 1")  # outside any span: a poll
        for n in (1, 2):
            with tracer.start_as_current_span(f"event {n} process", kind=SpanKind.CONSUMER):
                await conn.fetchval("SELECT $1::int", n)
                await conn.execute("SELECT 1")
    with (tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER),
          suppress_instrumentation()):
        await pool.fetchval("SELECT 1")
    finished = spans.get_finished_spans()
    events = {s.context.span_id: s for s in finished if s.kind is SpanKind.CONSUMER}
    queries = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert len(events) == 2 and len(queries) == 2
    for query in queries:
        assert query.parent and query.attributes
        event = events.pop(query.parent.span_id)
        assert query.attributes["db.statements"] == 2
        assert _within(query, event)
    assert [s.name for s in finished if s.kind is SpanKind.PRODUCER] == ["publish"]
