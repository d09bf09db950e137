"""kit/lean.py serves only the shape of route it serves exactly; any other is refused at start-up
(served FastAPI's way it would have skipped a parameter, a dependency or an app-wide check)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from kit.auth import PrincipalDep
from kit.lean import LeanRoutes, lean
from kit.limits import clean_parameters


class Body(BaseModel):
    name: str


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("not called")


def _routes(with_query: bool) -> APIRouter:
    router = APIRouter()
    if with_query:
        @router.post("/things")
        @lean
        async def post_with_query(body: Body, request: Request, principal: PrincipalDep,
                                  q: str) -> Response:
            return Response(status_code=201)
    else:
        @router.post("/things")
        @lean
        async def post(body: Body, request: Request, principal: PrincipalDep) -> Response:
            return Response(status_code=201)
    return router


def test_a_route_of_the_lean_shape_is_served_and_any_other_refused_at_start_up() -> None:
    checks = [Depends(clean_parameters)]
    lean_routes = LeanRoutes(_app, _routes(with_query=False).routes, checks, {})
    assert set(lean_routes.routes) == {("POST", "/things")}
    with pytest.raises(ValueError, match="can be lean"):
        LeanRoutes(_app, _routes(with_query=True).routes, checks, {})
    with pytest.raises(ValueError, match="parameter check"):  # another app-wide dependency
        LeanRoutes(_app, _routes(with_query=False).routes, [*checks, Depends(clean_parameters)],
                   {})
