"""Thin routes: the figures of the signed-in user's own city, for the statistics role and the
auditors; every read is on the audit trail (kit/access), a refusal too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from kit.access import AccessDep
from kit.api import ConnDep
from kit.auth import PrincipalDep
from kit.clock import now
from kit.policy import Action
from kit.problems import Problem
from kit.workdays import local_date

from . import exports
from .domain import figures as added_up
from .indicators import by_id, indicators
from .report import Row, fiscal_months, rows

router = APIRouter(tags=["statistics"])
READERS = ("statistics", "auditor")
_READERS_ONLY = ("統計は統計担当と監査担当だけが見られます / the figures are for the statistics and "
                 "auditor roles")


def _this_fiscal_year() -> int:
    today = local_date(now())
    return today.year if today.month >= 4 else today.year - 1


FiscalYear = Annotated[int | None, Query(ge=2000, le=2100, description="年度 (April–March)")]


class Figures:
    """The audited read of one fiscal year's figures (the route's one connection)."""

    def __init__(self, request: Request, conn: ConnDep, principal: PrincipalDep,
                 access: AccessDep) -> None:
        self.request, self.conn, self.principal, self.access = request, conn, principal, access

    async def read(self, action: Action, what: str, fiscal_year: int | None,
                   indicator: str | None = None) -> tuple[list[Row], list[str], int]:
        p = self.principal
        await self.access.require(self.conn, p, p.has(*READERS), action, "statistics", what,
                                  _READERS_ONLY)
        only = None
        if indicator is not None:
            only = by_id().get(indicator)
            if only is None:
                raise Problem(404, "Unknown indicator", f"no indicator {indicator!r} (GET /indicators)")
        await self.access.audit_only(self.conn, p, action, "statistics", what,
                                     reason="statistics or auditor role",
                                     purpose="statistics")
        year = fiscal_year or _this_fiscal_year()
        months = fiscal_months(year)
        # Only the user's own city: one deployment may count several (the envelope's municipality).
        figures = added_up(self.request.app.state.counting.tallies(), p.municipality,
                           indicators(), months, local_date(now()))
        return rows(figures, months, only), months, year


FiguresDep = Annotated[Figures, Depends()]


@router.get("/indicators", summary="指標の定義（ラベル・元イベント・集計方法）")
async def list_indicators(figures: FiguresDep) -> list[dict[str, Any]]:
    await figures.read("read", "indicators", None)
    return [{"id": i.id, "label": i.label, "label_en": i.label_en, "rule": i.rule, "unit": i.unit,
             "sources": list(i.sources), "by": i.by, "where": {k: list(v) for k, v in i.where.items()},
             "start": i.start} for i in indicators()]


@router.get("/figures", summary="年度の指標（月別・JSON）")
async def figures_json(figures: FiguresDep, fiscal_year: FiscalYear = None) -> dict[str, Any]:
    found, months, year = await figures.read("read", "figures", fiscal_year)
    return exports.as_json(found, figures.principal.municipality, year, months)


@router.get("/figures.csv", summary="年度の指標（報告様式の CSV、UTF-8 BOM 付き）")
async def figures_csv(figures: FiguresDep, fiscal_year: FiscalYear = None) -> Response:
    found, months, year = await figures.read("export", "figures.csv", fiscal_year)
    return Response(exports.as_csv(found, months), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="tsunagu-{year}.csv"'})


@router.get("/charts/{indicator}.svg", summary="指標の月別グラフ（SVG）")
async def chart(indicator: str, figures: FiguresDep, fiscal_year: FiscalYear = None) -> Response:
    found, months, year = await figures.read("export", f"chart:{indicator}", fiscal_year, indicator)
    ind = by_id()[indicator]
    svg = exports.chart_svg(ind, found, months, f"{ind.label}（{year}年度）")
    return Response(svg, media_type="image/svg+xml")
