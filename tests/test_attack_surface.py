"""Every route of every service is attacked somewhere: an endpoint nobody tried as each kind of
principal is a finding by itself. The routes come from each service's own OpenAPI document; each
must have its cells in the access matrix (tests/access_matrix.py), or be named below with the
test that attacks it instead."""

from __future__ import annotations

import importlib
import re
from functools import cache

import pytest

from infra.local.catalog import SERVICES
from tests.access_matrix import ENDPOINTS

# Routes attacked elsewhere (the file that does is named), or that serve nobody's data.
ELSEWHERE = {
    # The process's own health: no data, answered before sign-in (kit/ops.py).
    **{(service, "GET", path): "kit/ops.py" for service in SERVICES
       for path in ("/healthz", "/readyz")},
    # One gate (statistics.api.Figures) for every figure: its roles, its city, on record.
    **{("statistics", "GET", path): "tests/test_statistics.py" for path in (
        "/indicators", "/figures", "/figures.csv", "/charts/{indicator}.svg")},
}


@cache
def _routes() -> frozenset[tuple[str, str, str]]:
    found = set()
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.app").create_app()
        for path, operations in app.openapi()["paths"].items():
            found |= {(service, method.upper(), path) for method in operations}
    return frozenset(found)


def _matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
    return re.fullmatch(pattern, path) is not None


class _Any(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "x"


def _attacked(service: str, method: str, template: str) -> bool:
    # The kit's routes are one code in every service: a cell in any service attacks them all.
    kit = template.startswith(("/audit", "/operators/"))
    return any((e.service == service or kit) and e.method == method
               and _matches(template, e.path.format_map(_Any()).split("?")[0]) for e in ENDPOINTS)


@pytest.mark.parametrize("route", sorted(_routes()), ids=" ".join)
def test_every_route_has_its_cells_in_the_access_matrix(route: tuple[str, str, str]) -> None:
    assert route in ELSEWHERE or _attacked(*route), \
        f"{route}: no cell of tests/access_matrix.py reaches it (add it, reads and writes apart)"


def test_what_is_attacked_elsewhere_still_exists() -> None:
    assert set(ELSEWHERE) <= _routes(), set(ELSEWHERE) - _routes()
