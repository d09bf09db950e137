"""A lean way in for the hottest write routes (#14): a valid request skips FastAPI's machinery.

FastAPI spends more on a request than the route does on its own work: matching it against
every route of every included router, two exit stacks, its own exception wrapper, parsing the
Content-Type with `email.message`, and a recursive solve of each dependency (the app's
parameter check and sign-in). For a route marked `@lean`, the layer below (inside the app's
exception handlers, so every error still answers problem+json the same way) does for a request
that is plainly valid what FastAPI would do, in the order that cannot change the outcome:

1. read the body (through the body limit, which still answers 413);
2. parse it as JSON and validate it as the route's body model. Anything else — no body, another
   Content-Type, JSON that does not parse, a body that does not validate — goes to FastAPI
   itself, with the body replayed, so each refusal is FastAPI's to the letter (its order
   included: a malformed body is refused before sign-in, an invalid one after it);
3. the app's NUL check of the parameters (kit/limits.py), then sign-in (kit/auth.py: every
   refusal raised and recorded as before);
4. the route itself, with the model, the request and the principal, and its Response sent.

Validation is pure, so doing it before the checks of step 3 rather than after changes nothing
for a body that passes. The route is still declared on its router as any other (OpenAPI, the
fallback, `scope["route"]` for the request's span and metrics). A route whose shape this layer
does not serve exactly (other parameters or dependencies, an app-wide dependency other than the
parameter check) is refused at start-up rather than served differently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.auth import signed_in
from kit.limits import clean_parameters

_JSON = b"application/json"
F = TypeVar("F", bound=Callable[..., Coroutine[Any, Any, Response]])


def lean(endpoint: F) -> F:
    """Mark a route (below its `@router.post(...)`) to be served by LeanRoutes."""
    endpoint.lean = True  # type: ignore[attr-defined]
    return endpoint


class _Lean:
    def __init__(self, route: APIRoute) -> None:
        d = route.dependant
        model = route.body_field.field_info.annotation if route.body_field else None
        if (not (isinstance(model, type) and issubclass(model, BaseModel))
                or len(d.body_params) != 1 or d.request_param_name is None
                or [(x.call, x.name is not None) for x in d.dependencies] != [(signed_in, True)]
                or route.dependencies or d.path_params or d.query_params or d.header_params
                or d.cookie_params or d.background_tasks_param_name or d.response_param_name
                or route.path_format != route.path):
            raise ValueError(f"{route.path}: only a route of a JSON body, the request and the "
                             "principal (PrincipalDep) can be lean")
        self.route = route
        self.model: type[BaseModel] = model
        self.names = (d.body_params[0].name, d.request_param_name, str(d.dependencies[0].name))

    def valid(self, scope: Scope, body: bytes) -> BaseModel | None:
        """The body as the route's model; None for anything FastAPI must answer itself."""
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        if not body or content_type is None or content_type.lower() != _JSON:
            return None
        try:
            return self.model.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # JSONDecodeError, UnicodeDecodeError
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send,
                       fastapi: ASGIApp) -> None:
        body = await _read(receive)
        replay = _replaying(body, receive)
        value = self.valid(scope, body)
        if value is None:
            await fastapi(scope, replay, send)
            return
        # What the router sets on a match: the request's span and metrics name the route by it.
        scope.update(endpoint=self.route.endpoint, path_params={}, route=self.route)
        request = Request(scope, replay, send)
        await clean_parameters(request)
        principal = await signed_in(request)
        body_name, request_name, principal_name = self.names
        response = await self.route.endpoint(**{body_name: value, request_name: request,
                                                principal_name: principal})
        await response(scope, replay, send)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: as FastAPI answers it
            raise HTTPException(400, "There was an error parsing the body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body once more (FastAPI's fallback, an Idempotency-Key's fingerprint), then the
    connection's own messages (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class LeanRoutes:
    """ASGI: serves the `@lean` routes among `routes`, hands every other request to `app`
    (FastAPI's router). Placed inside the app's exception handlers (kit/service.py)."""

    def __init__(self, app: ASGIApp, routes: Iterable[Any], app_dependencies: list[Any],
                 overrides: dict[Any, Any]) -> None:
        self.app = app
        self.overrides = overrides  # a test's dependency override: FastAPI's way, not this one
        self.routes = {(method, r.path): _Lean(r) for r in routes if isinstance(r, APIRoute)
                       and getattr(r.endpoint, "lean", False) for method in r.methods or ()}
        if self.routes and [d.dependency for d in app_dependencies] != [clean_parameters]:
            raise ValueError("lean routes run only the app's parameter check before sign-in")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get((scope["method"], scope["path"])) \
            if scope["type"] == "http" and not scope.get("root_path") else None
        if route is None or self.overrides:
            await self.app(scope, receive, send)
            return
        await route(scope, receive, send, self.app)
