"""走访统计 (/visits/kpis/) and its .xlsx: the figures of visit_kpis on the demo, cell for cell, for
the roles that have them; the rest get 403."""

import datetime
import io
import re

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from minqing.core.figures import cell_text
from minqing.core.models import AuditEntry
from minqing.core.views import XLSX
from minqing.visits.kpis import COLUMNS, visit_kpis

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr(?: class="total")?><th scope="row">([^<]*)</th>((?:<td data-label="[^"]*">[^<]*</td>)+)</tr>')
CELL = re.compile(r"<td[^>]*>([^<]*)</td>")


def _period():
    end = timezone.localdate()
    return end - datetime.timedelta(days=30), end


def _page_rows(html: str) -> dict[str, list[str]]:
    return {label: CELL.findall(cells) for label, cells in ROW.findall(html)}


def _expected(table) -> dict[str, list]:
    return {row.label: [value_of(row) for _h, value_of, _k in COLUMNS] for row in [*table.rows, table.total]}


@pytest.mark.parametrize("dimension", ["grid", "worker"])
def test_the_page_and_the_xlsx_show_the_figures_of_visit_kpis(client_as, persona, dimension):
    start, end = _period()
    query = f"start={start}&end={end}&dimension={dimension}"
    table = visit_kpis(persona("staff1"), start=start, end=end, dimension=dimension)
    expected = _expected(table)
    assert table.total.visits > 0 and len(table.rows) > 1  # the demo has visits in several groups
    client = client_as("staff1")
    response = client.get(f"/visits/kpis/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "口径说明" in html and "脱管漏管" in html
    shown = _page_rows(html)
    assert list(shown) == list(expected)  # the rows in order, 合计 last
    for label, values in expected.items():
        assert shown[label] == [cell_text(v, k) for v, (_h, _f, k) in zip(values, COLUMNS, strict=True)], label
    if dimension == "worker":  # a household has a grid, not a worker: no coverage in a worker's row
        assert shown[table.rows[0].label][3] == "—"

    before = AuditEntry.objects.filter(action="visit.kpi_export").count()
    response = client.post(f"/visits/kpis/xlsx/?{query}")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert rows[1][1:] == [str(h) for h, _v, _k in COLUMNS]
    in_file = {r[0]: r[1:] for r in rows[2:]}
    assert list(in_file) == list(expected)
    for label, values in expected.items():
        for got, value, (_h, _f, kind) in zip(in_file[label], values, COLUMNS, strict=True):
            if value is None:
                assert got == "—"
            elif kind == "percent":
                assert got * 100 == pytest.approx(value), label
            else:
                assert got == value, label
    assert AuditEntry.objects.filter(action="visit.kpi_export").count() == before + 1


def test_the_default_period_is_this_month_and_by_grid(client_as):
    html = client_as("staff1").get("/visits/kpis/").content.decode()
    first = timezone.localdate().replace(day=1)
    assert f"{first:%Y-%m-%d} 至 {timezone.localdate():%Y-%m-%d}" in html
    assert '<th scope="col">网格</th>' in html


def test_a_grid_worker_sees_their_grid_only(client_as, persona):
    start, end = _period()
    grid1 = persona("grid1")
    html = client_as("grid1").get(f"/visits/kpis/?start={start}&end={end}").content.decode()
    shown = _page_rows(html)
    assert set(shown) == {grid1.area.name, "合计"}
    staff = _page_rows(client_as("staff1").get(f"/visits/kpis/?start={start}&end={end}").content.decode())
    assert shown[grid1.area.name] == staff[grid1.area.name]
    assert len(staff) > len(shown)


def test_a_bad_period_or_dimension_names_the_field(client_as):
    client = client_as("staff1")
    response = client.get("/visits/kpis/?start=2026-03-31&end=2026-03-01")
    assert response.status_code == 400 and "结束日期不能早于开始日期" in response.content.decode()
    response = client.get("/visits/kpis/?dimension=street")
    assert response.status_code == 400 and 'data-testid="figures"' not in response.content.decode()
    assert client.post("/visits/kpis/xlsx/?dimension=street").status_code == 400


def test_who_has_the_figures_and_how_they_get_there(client_as):
    for username in ("liaison1", "bhead1", "dept1"):
        client = client_as(username)
        assert client.get("/visits/kpis/").status_code == 403
        assert client.post("/visits/kpis/xlsx/").status_code == 403
        assert 'href="/visits/kpis/"' not in client.get("/").content.decode()
    # A grid worker's 统计 is the visit figures; staff's leads to the demands' and both pages link to
    # each other, the current one marked.
    assert '<a href="/visits/kpis/">统计</a>' in client_as("grid1").get("/").content.decode()
    assert 'data-testid="figure-tabs"' not in client_as("grid1").get("/visits/kpis/").content.decode()
    staff = client_as("staff1")
    assert '<a href="/tickets/kpis/">统计</a>' in staff.get("/").content.decode()
    html = staff.get("/visits/kpis/").content.decode()
    assert '<a href="/tickets/kpis/" aria-current="page">统计</a>' in html  # the section stays lit
    tabs = html[html.index('data-testid="figure-tabs"') :]
    assert (
        '<a href="/tickets/kpis/">诉求统计</a>' in tabs
        and '<a href="/visits/kpis/" aria-current="page">走访统计</a>' in tabs
    )


@pytest.mark.parametrize("username", ["grid1", "staff1", "district1"])
def test_the_page_costs_the_same_queries_whatever_the_scope(client_as, username, django_assert_max_num_queries):
    """Two figure queries and the row names, however many grids, workers and visits; the rest is the
    signed-in user, the session and the navigation (11 on the demo at the time of writing)."""
    client = client_as(username)
    for dimension in ("grid", "worker"):
        with django_assert_max_num_queries(12):
            assert client.get(f"/visits/kpis/?dimension={dimension}").status_code == 200
