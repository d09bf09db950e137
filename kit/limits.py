"""Limits every request meets before a route sees it: a bounded body, and no NUL in a parameter.

Fields of a body are bounded by their types (contracts/bounds.py); these are the rest. A body
past the limit answers 413 whether or not it declares its length (a chunked body is counted as
it arrives); a NUL in a query or path parameter answers 422 naming it (PostgreSQL refuses NUL,
so it would otherwise fail deep inside as a 500).
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.problems import Problem, problem_response


class _TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on as it is (it turns any
    other exception into a 400) and the kit's handler answers it as problem+json."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"at most {max_bytes} bytes")


class BodyLimit:
    """ASGI middleware: 413 problem+json for a request body over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, "Request body too large",
                                    f"at most {self.max_bytes} bytes", instance=scope.get("path"))
        await response(scope, receive, send)


async def clean_parameters(request: Request) -> None:
    """An app-wide dependency: no NUL in any query or path parameter."""
    # A NUL reaches a query parameter only as itself or as %00 (parsing turns nothing else into
    # one), and a path parameter only as part of the path: a request with neither is clean,
    # without parsing its query string (#14).
    query: bytes = request.scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query and "\x00" not in request.scope["path"]:
        return
    for where, params in (("query", request.query_params.multi_items()),
                          ("path", request.path_params.items())):
        for name, value in params:
            if "\x00" in str(value) or "\x00" in name:
                raise Problem(422, "Invalid request", f"{where} parameter '{name}' contains "
                              "NUL (\\u0000)", errors=[{"loc": [where, name.replace("\x00", "")],
                                                        "msg": "must not contain NUL",
                                                        "type": "nul"}])
