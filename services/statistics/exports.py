"""The figures as the city hands them on: CSV for Excel (UTF-8 with BOM, Japanese headers, the
report's layout), JSON, and one monthly bar chart per indicator for the committee (SVG).

Charts are SVG with their text kept as text (svg.fonttype "none"): the viewer's Japanese fonts
draw the labels, so the server needs none installed.
"""

from __future__ import annotations

import csv
import io
import logging
import warnings
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from .indicators import Indicator
from .report import Row, Value, month_label

FONTS = ["Noto Sans CJK JP", "IPAexGothic", "Hiragino Sans", "Yu Gothic", "Meiryo", "sans-serif"]
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # fonts are the viewer's


def _cell(value: Value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def as_csv(rows: list[Row], months: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["指標", "内訳", "単位", *(month_label(m) for m in months), "年度計"])
    for row in rows:
        writer.writerow([row.indicator.label, row.label, row.indicator.unit,
                         *(_cell(row.values[m]) for m in months), _cell(row.total)])
    return out.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8


def as_json(rows: list[Row], municipality: str, fiscal_year: int,
            months: list[str]) -> dict[str, Any]:
    by_indicator: dict[str, dict[str, Any]] = {}
    for row in rows:
        ind = row.indicator
        entry = by_indicator.setdefault(ind.id, {"id": ind.id, "label": ind.label,
                                                 "label_en": ind.label_en, "rule": ind.rule,
                                                 "unit": ind.unit, "rows": []})
        entry["rows"].append({"breakdown": row.breakdown, "label": row.label,
                              "values": row.values, "total": row.total})
    return {"municipality": municipality, "fiscal_year": fiscal_year, "months": months,
            "indicators": list(by_indicator.values())}


def chart_svg(indicator: Indicator, rows: list[Row], months: list[str], title: str) -> bytes:
    """Monthly bars: a count, a breakdown stacked, or a median's monthly medians."""
    bars = [r for r in rows if r.breakdown != "n"]
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": FONTS,
                                "svg.hashsalt": "tsunagu"}), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs missing from the server's fonts: drawn by the viewer's
        fig = Figure(figsize=(9, 4.5))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        x = range(len(months))
        bottom = [0.0] * len(months)
        for row in bars:
            heights = [float(row.values[m] or 0) for m in months]
            ax.bar(x, heights, bottom=bottom, label=row.label)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xticks(list(x), [month_label(m).split("年")[1] for m in months])
        ax.set_ylabel(indicator.unit)
        ax.set_title(title)
        if len(bars) > 1:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
