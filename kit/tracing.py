"""OpenTelemetry: one tracer provider per process, exporters chosen by the environment.

OTLP when the standard OTEL_EXPORTER_OTLP_* variables name an endpoint; a JSON-lines file when
the settings name one (local runs and tests read the spans there).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
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


def setup_tracing(service: str, trace_file: str | None) -> TracerProvider:
    global _configured
    if _configured is not None:
        return _configured
    name = os.environ.get("OTEL_SERVICE_NAME", f"tsunagu-{service}")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if trace_file:
        provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(Path(trace_file)),
                                                       schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider
