"""The indicator table and the counting rules (pure: no broker)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from contracts.envelope import EventData
from contracts.registry import SPECS, spec_for
from services.statistics.domain import FigureKey, Tally, figures, median, tally
from services.statistics.exports import as_csv, chart_svg
from services.statistics.indicators import by_id, indicators
from services.statistics.report import fiscal_months, rows
from tests.activity import CITY, month_of_activity


def test_every_source_type_in_the_table_is_a_contract() -> None:
    names = {s.name for s in SPECS}
    for ind in indicators():
        assert set(ind.types) <= names, (ind.id, set(ind.types) - names)
        assert ind.label and ind.unit


def test_no_indicator_breaks_down_by_a_person_a_user_or_a_case() -> None:
    for ind in indicators():
        for name in (ind.by or "", *ind.where):
            assert not name.endswith(("_id", "_ids")), (ind.id, name)
            assert not any(who in name for who in ("person", "worker", "user")), (ind.id, name)
        for source in ind.sources:  # the field exists on every source event
            assert ind.by in (None, "@type", "@topic") or ind.by in spec_for_name(source).model_fields


def spec_for_name(name: str) -> type[EventData]:
    return next(s.model for s in SPECS if s.name == name)


def test_medians_of_a_histogram() -> None:
    assert median({}) is None
    assert median({3: 1}) == 3
    assert median({1: 1, 2: 1, 9: 2}) == 5.5
    assert median({1: 2, 4: 1}) == 1


def test_a_month_counted_by_the_rules_is_what_a_clerk_counts() -> None:
    # The same generated month the broker test uses, through the rules alone: any difference
    # there is the stream's, here the table's. Each effect goes through its JSON, as it is kept.
    month = month_of_activity(2025, 6, consultations=30)
    effects: list[Tally] = []
    for _, _, event, env in month.records:
        if env.type.endswith("something_new.v1"):
            effects.append(Tally(counts=[FigureKey(CITY, "2025-06", "unknown_event_types", env.type)]))
            continue
        effect = tally(indicators(), spec_for(event).name, CITY, env.time, event.model_dump(mode="json"))
        effects.append(Tally.loads(effect.dumps()))
    months = fiscal_months(2025)
    report = rows(figures(effects, CITY, indicators(), months, date(2026, 12, 1)), months)
    found = {(r.indicator.id, r.breakdown, m): v for r in report for m, v in r.values.items() if v}
    assert found == month.figures()
    # In any order, and an effect kept twice (a redelivery under the same key) counts once.
    again = figures(reversed(effects), CITY, indicators(), months, date(2026, 12, 1))
    assert again == figures(effects, CITY, indicators(), months, date(2026, 12, 1))


def test_the_csv_opens_in_excel_as_the_reports_layout() -> None:
    figures = {FigureKey(CITY, "2025-06", "consultations"): 4,
               FigureKey(CITY, "2025-06", "consultations_by_channel", "phone"): 4}
    raw = as_csv(rows(figures, fiscal_months(2025)), fiscal_months(2025))
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][0:4] == ["指標", "内訳", "単位", "2025年4月"] and table[0][-1] == "年度計"
    assert table[1][:3] == ["相談受付件数", "計", "件"] and table[1][5] == "4"
    assert table[2][:3] == ["相談受付件数（受付経路別）", "電話", "件"]


def test_a_chart_keeps_its_japanese_text_as_text() -> None:
    ind = by_id()["consultations_by_channel"]
    figures = {FigureKey(CITY, "2025-06", ind.id, "phone"): 4, FigureKey(CITY, "2025-07", ind.id, "visit"): 2}
    months = fiscal_months(2025)
    svg = chart_svg(ind, rows(figures, months, ind), months, ind.label).decode()
    assert "<text" in svg and "電話" in svg and "来所" in svg and ind.label in svg


def test_the_month_is_the_citys() -> None:
    ind = by_id()["consultations"]
    late = datetime(2025, 6, 30, 16, 0, tzinfo=UTC)  # 7月1日 01:00 JST
    assert tally([ind], "ConsultationReceived", CITY, late, {}).counts == [FigureKey(CITY, "2025-07", ind.id)]


def test_a_stock_counts_offices_in_force_at_each_months_end_and_the_latest_record_stands() -> None:
    ind = by_id()["partners_under_agreement"]
    effects: list[Tally] = []

    def agreed(agreement: str, office: str, since: str, until: str | None = None, day: int = 1) -> None:
        data = {"agreement_id": agreement, "partner_office": office, "since": since, "until": until}
        effects.append(tally([ind], "PartnerAgreed", CITY, datetime(2025, 5, day, tzinfo=UTC), data))
    agreed("a1", "yubin", "2025-04-10")  # open-ended
    agreed("a2", "yubin", "2025-05-01", "2025-09-30")  # a second account of the same office
    agreed("a3", "suido", "2025-05-20", "2025-06-15", day=3)  # cut short by a later registration
    agreed("a3", "suido", "2025-05-20", "2025-12-31", day=2)  # (arriving late: the time decides)
    months = fiscal_months(2025)
    report = rows(figures(effects, CITY, [ind], months, date(2025, 8, 20)), months, ind)
    assert [r.values[m] for r in report for m in months] == [1, 2, 1, 1, 1, *[None] * 7]
    assert report[0].total == 1  # the stock of the last month begun (August, as of the 20th)
    assert figures(effects, "999999", [ind], months, date(2025, 8, 20)) == {
        FigureKey("999999", m, ind.id): 0 for m in months[:5]}  # another city's agreements: none
