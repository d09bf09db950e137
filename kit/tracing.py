"""OpenTelemetry: one tracer provider per process, its exporter chosen by the environment.

Zipkin (the operators' trace viewer `make up` starts) when the settings name its span endpoint;
OTLP instead when the standard OTEL_EXPORTER_OTLP_* variables name a collector (a city's own).
Either way spans leave through a batch processor, on a thread of their own: a request or an
event never waits for an export.

No personal data leaves in a span: a search's query string holds names, kana, birth dates,
phone numbers and addresses, a path the ids of persons. A request's span (kit/service.py) names
its route template, `http.route`, never its URL; should a span carry a URL attribute all the
same (another library's), it loses the query string and every id before any exporter sees it.
Database spans (kit/db.py) carry the database, a statement count and an operation, never SQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

_configured: TracerProvider | None = None


# Every URL-bearing attribute of the old and the stable HTTP semantic conventions.
_URL_KEYS = frozenset({"http.url", "http.target", "url.full", "url.path", "url.query",
                       "http.request.uri"})
_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


TRACE_HEADER = "X-Trace-Id"  # on every traced response: staff quote it, operators open the trace


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def redact_url(value: str) -> str:
    """The URL without its query string, each id replaced by `{id}`."""
    return _ID.sub("{id}", value.split("?", 1)[0])


class Redacting(SpanProcessor):
    """Hands `inner` a copy of each ended span whose URL attributes carry no personal data."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        attributes = span.attributes or {}
        if _URL_KEYS.isdisjoint(attributes):
            self.inner.on_end(span)
            return
        clean = {k: (redact_url(v) if k in _URL_KEYS and isinstance(v, str) else v)
                 for k, v in attributes.items() if k != "url.query"}
        self.inner.on_end(ReadableSpan(
            name=span.name, context=span.context, parent=span.parent, resource=span.resource,
            attributes=clean, events=span.events, links=span.links, kind=span.kind,
            status=span.status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class JourneysOnly(Sampler):
    """Root sampler: a trace begins with a request, an event's delivery or a publish, never with
    a database call. Queries outside any of those (the relay's, the audit writer's, the timers'
    polls, several a second in every service) would bury the journeys in the viewer's memory;
    within one they are kept, as children (the parent-based sampler decides those)."""

    def should_sample(self, parent_context: context.Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None,
                      trace_state: trace.TraceState | None = None) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "JourneysOnly"


def exporter(zipkin_endpoint: str | None, env: Mapping[str, str]) -> SpanExporter | None:
    """OTLP when the environment names a collector, else Zipkin when the settings name it."""
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself
    if zipkin_endpoint:
        from opentelemetry.exporter.zipkin.json import ZipkinExporter
        return ZipkinExporter(endpoint=zipkin_endpoint, timeout=5)
    return None


def setup_tracing(service: str, zipkin_endpoint: str | None,
                  env: Mapping[str, str] | None = None) -> TracerProvider:
    global _configured
    if _configured is not None:
        return _configured
    env = os.environ if env is None else env
    name = env.get("OTEL_SERVICE_NAME", f"tsunagu-{service}")
    provider = TracerProvider(resource=Resource.create({"service.name": name}),
                              sampler=ParentBased(JourneysOnly()))
    chosen = exporter(zipkin_endpoint, env)
    if chosen is not None:
        # A second's delay: an operator opening a trace staff just quoted finds it complete.
        provider.add_span_processor(Redacting(BatchSpanProcessor(chosen, schedule_delay_millis=1000)))
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider
