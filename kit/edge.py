"""The outermost ASGI layer of every service: what each request gets before and after the app.

One pure ASGI layer (#14: every layer is a call, a `send` wrapper and a frame per request, and
this one replaced three) does, for each HTTP request:
- drop the caller's trace context headers (W3C traceparent, tracestate, baggage). No service
  calls another over HTTP (they talk through Kafka, whose headers carry the context), so a
  request's context can only be a client's: continued, it would let a client choose the trace id
  its audit records carry (and join its requests to someone else's trace). The edge starts
  every trace itself;
- the request's SERVER span, named by its route template ("POST /consultations"), with the
  method, the route and the status, never the URL (its path holds ids, its query string names:
  kit/tracing.py). It replaces FastAPIInstrumentor, which cost ~0.4 ms of CPU per request more:
  it matched the request against every route a second time to name its span and read a dozen
  attributes off the request. Probes (/healthz, /readyz, /metrics) are not traced;
- the trace id as X-Trace-Id on every traced response (staff quote it);
- the request's duration by method, route and status (http_request_duration_seconds).

It wraps Starlette's whole stack, its ServerErrorMiddleware included: a 500's problem response
is made inside the span (and carries its X-Trace-Id, kit/problems.py), and an exception escaping
the app is recorded on the span, its status ERROR.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.metrics import Metrics
from kit.tracing import TRACE_HEADER

_TRACE_KEY = TRACE_HEADER.lower().encode()
_CALLER_CONTEXT = frozenset({b"traceparent", b"tracestate", b"baggage"})
_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: several a minute, no journey
_NEW_TRACE = context.Context()  # every request starts a trace: the edge is where traces begin


class Edge:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The provider's own tracer once the service set it up (kit/tracing.py, before the app
        # serves): the module-level proxy looked it up again on every request.
        self._tracer = trace.get_tracer("kit.service")
        # The histogram's child per (method, route, status): prometheus_client's `labels` takes
        # a lock and builds its key on every call. Bounded: route templates, not paths.
        self._timers: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if any(k in _CALLER_CONTEXT for k, _ in scope["headers"]):
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"]
                                          if k not in _CALLER_CONTEXT]}
        method = scope["method"]
        status = 0  # none sent yet
        trace_id: bytes | None = None

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
                if trace_id and all(k.lower() != _TRACE_KEY for k, _ in headers):  # problems set it
                    message = {**message, "headers": [*headers, (_TRACE_KEY, trace_id)]}
            await send(message)

        try:
            if scope["path"] in _UNTRACED:
                await self.app(scope, receive, sent)
                return
            span = self._tracer.start_span(method, _NEW_TRACE, SpanKind.SERVER, {"http.method": method})
            ids = span.get_span_context()
            trace_id = format(ids.trace_id, "032x").encode() if ids.is_valid else None
            token = context.attach(trace.set_span_in_context(span, _NEW_TRACE))
            described = False
            try:
                await self.app(scope, receive, sent)
            except Exception as exc:  # as the tracer's own context manager records it
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                described = True
                raise
            finally:
                context.detach(token)
                route = getattr(scope.get("route"), "path", None)  # set by the router that matched
                attributes: dict[str, str | int] = {}
                if route is not None:
                    span.update_name(f"{method} {route}")
                    attributes["http.route"] = route
                if status:
                    attributes["http.status_code"] = status
                span.set_attributes(attributes)  # one lock and one call for both
                if status >= 500 and not described:
                    span.set_status(StatusCode.ERROR)
                span.end()
        finally:
            # Nothing sent: the connection broke, or an error escaped ServerErrorMiddleware.
            key = (method, getattr(scope.get("route"), "path", "unmatched"), status or 500)
            timer = self._timers.get(key)
            if timer is None:
                timer = self._timers[key] = self.metrics.request_seconds.labels(*key)
            timer.observe(time.perf_counter() - started)
