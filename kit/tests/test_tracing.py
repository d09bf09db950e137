"""Where spans go (Zipkin, or OTLP for a city's own collector, or nowhere), which are kept, and
that a URL leaves without its query string or ids."""

import os

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind

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
