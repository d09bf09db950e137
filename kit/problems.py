"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from kit.errors import DomainError
from kit.tracing import TRACE_HEADER, current_trace_id, redact_url

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("kit.problems")


class Problem(Exception):
    """Raise from an API or domain rule: becomes a problem+json response."""

    def __init__(self, status: int, title: str, detail: str = "", type_: str = "about:blank",
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
        self.headers, self.extra = headers or {}, extra


def problem_response(status: int, title: str, detail: str = "", type_: str = "about:blank",
                     instance: str | None = None, headers: dict[str, str] | None = None,
                     **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    trace_id = current_trace_id()  # also on a 500, which no middleware of ours sees leave
    if trace_id:
        headers = {**(headers or {}), TRACE_HEADER: trace_id}
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem", "type": "object", "required": ["type", "title", "status"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"},
                   "instance": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object"}}}}


def _document(app: FastAPI) -> None:
    """The OpenAPI document says what a 422 really is: problem+json, not FastAPI's default."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "422" in operation.get("responses", {}):
                        operation["responses"]["422"] = {
                            "description": "Invalid request: the fields named in `detail` and "
                                           "`errors` (RFC 9457)",
                            "content": {MEDIA_TYPE: {"schema": {
                                "$ref": "#/components/schemas/Problem"}}}}
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            schemas["Problem"] = PROBLEM_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document(app)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.type,
                                instance=request.url.path, headers=exc.headers, **exc.extra)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.type_,
                                instance=request.url.path, **exc.extra)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        title = {404: "Not Found", 405: "Method Not Allowed", 401: "Unauthorized",
                 403: "Forbidden", 413: "Request body too large"}.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else ""
        return problem_response(exc.status_code, title, detail, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Never the input itself: it may be personal data, or megabytes.
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type")}
                  for e in exc.errors()]
        fields = ", ".join(dict.fromkeys(".".join(map(str, e["loc"])) for e in errors))
        return problem_response(422, "Invalid request", f"Not valid: {fields}; see `errors`.",
                                instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", redact_url(request.url.path))  # no person ids
        return problem_response(500, "Internal error", "The error was logged with its trace id.",
                                instance=request.url.path)
