"""OpenTelemetry: one tracer provider per process, exporters chosen by the environment.

OTLP when the standard OTEL_EXPORTER_OTLP_* variables name an endpoint; a JSON-lines file when
the settings name one (local runs and tests read the spans there).

No personal data leaves in a span: the HTTP instrumentation records full URLs, and a search's
query string holds names, kana, birth dates, phone numbers and addresses, a path the ids of
persons. Before any exporter sees a span, its URL attributes lose the query string and every
id (the route template, `http.route`, still says what was called).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

_configured: TracerProvider | None = None


class JsonLinesExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for span in spans:
                self._file.write(span.to_json(indent=None) + "\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._file.close()


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


def setup_tracing(service: str, trace_file: str | None) -> TracerProvider:
    global _configured
    if _configured is not None:
        return _configured
    name = os.environ.get("OTEL_SERVICE_NAME", f"tsunagu-{service}")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        provider.add_span_processor(Redacting(BatchSpanProcessor(OTLPSpanExporter())))
    if trace_file:
        provider.add_span_processor(Redacting(BatchSpanProcessor(
            JsonLinesExporter(Path(trace_file)), schedule_delay_millis=500)))
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider
