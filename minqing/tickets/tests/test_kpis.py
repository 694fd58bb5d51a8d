"""The figures on a small case built by hand: ten demands taken through the services, their times
then set to chosen values, and every figure compared with the arithmetic written out here."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from minqing.accounts.models import Department
from minqing.areas.models import Area
from minqing.core.models import AuditEntry
from minqing.core.views import XLSX
from minqing.tickets import lifecycle, services
from minqing.tickets.kpis import ticket_kpis
from minqing.tickets.models import Category, Ticket

TZ = timezone.get_fixed_timezone(8 * 60)
R = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=TZ)  # every demand of the case was received then
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)
MARCH = {"start": datetime.date(2025, 3, 1), "end": datetime.date(2025, 3, 31)}


def _make(actor, category, channel, area, steps, *, times):
    ticket = services.ticket_create(
        actor=actor,
        category=Category.objects.get(name=category),
        channel=channel,
        description="测试诉求",
        received_at=R,
        area=area.pk,
    )
    for who, action, params in steps:
        params = dict(params)
        note = params.pop("note", "说明" if lifecycle.ACTIONS[action].needs_note else "")
        services.ticket_act(actor=who, number=ticket.number, action=action, note=note, **params)
    # The services stamp "now"; the case needs chosen times (deadlines: accept in 24 h, finish in 5 days).
    Ticket.objects.filter(pk=ticket.pk).update(
        received_at=R, accept_due_at=R + 24 * H, finish_due_at=R + 5 * D, **times
    )
    return ticket


@pytest.fixture
def case(persona):
    staff, dept = persona("staff1"), persona("dept1")
    grid = persona("grid1").area
    power = Department.objects.get(code="D-POWER").pk
    accept, close = (staff, "accept", {}), (staff, "close", {})
    handle = (staff, "handle", {})
    none = {"accepted_at": None, "handled_at": None}
    made = {}
    made[1] = _make(
        staff,
        "下水堵塞",
        "phone",
        grid,
        [accept, handle, close, (lifecycle.RESIDENT, "evaluate", {"rating": "satisfied"})],
        times={"accepted_at": R + 2 * H, "handled_at": R + 2 * D},
    )
    made[2] = _make(
        staff,
        "路灯损坏",
        "phone",
        grid,
        [accept, handle, close, (lifecycle.RESIDENT, "evaluate", {"rating": "basically_satisfied"})],
        times={"accepted_at": R + 30 * H, "handled_at": R + 4 * D},
    )
    # 不满意 right after 销号 reopens it: open again, its rating kept.
    made[3] = _make(
        staff,
        "楼道堆物",
        "phone",
        grid,
        [accept, handle, close, (lifecycle.RESIDENT, "evaluate", {"rating": "unsatisfied"})],
        times={"accepted_at": R + 1 * H},
    )
    made[4] = _make(
        staff,
        "停电",
        "desk",
        grid,
        [accept, (staff, "dispatch", {"department": power}), (dept, "return", {})],
        times={"accepted_at": R + 3 * H},
    )
    made[5] = _make(
        staff,
        "停电",
        "desk",
        grid,
        [accept, (staff, "dispatch", {"department": power}), (dept, "start", {}), (dept, "handle", {})],
        times={"accepted_at": R + 5 * H, "handled_at": R + 7 * D},
    )
    made[6] = _make(staff, "楼道堆物", "desk", grid, [(staff, "merge", {"into": made[4].number})], times=none)
    made[7] = _make(staff, "政策咨询", "desk", grid, [(staff, "reject", {})], times=none)
    made[8] = _make(staff, "政策咨询", "hotline_12345", grid, [], times=none)
    made[9] = _make(
        staff, "水压不足", "hotline_12345", grid, [accept, (staff, "suspend", {})], times={"accepted_at": R + 4 * H}
    )
    made[10] = _make(
        staff,
        "垃圾清运",
        "hotline_12345",
        grid,
        [accept, handle, close],
        times={"accepted_at": R + 6 * H, "handled_at": R + 1 * D},
    )
    # fmt: skip
    states = {n: Ticket.objects.get(pk=t.pk).status for n, t in made.items()}
    assert states == {1: "evaluated", 2: "evaluated", 3: "reopened", 4: "returned", 5: "handled", 6: "merged",
                      7: "rejected", 8: "registered", 9: "suspended", 10: "closed"}  # fmt: skip
    return made


def test_each_figure_equals_the_arithmetic_on_ten_demands(case, persona):
    staff = persona("staff1")
    table = ticket_kpis(staff, dimension="channel", **MARCH)
    t = table.total
    # 受理量: all ten, the merged and the rejected one included.
    assert t.received == 10
    # 有效件: 10 − 1 merged (#6) − 1 rejected (#7) = 8.
    assert t.valid == 8
    # 及时受理率: accepted within 24 h: #1 (2 h), #3 (1 h), #4 (3 h), #5 (5 h), #9 (4 h), #10 (6 h) = 6;
    # accepted: those 6 + #2 (30 h, late) = 7, plus #8 never accepted and past its 24 h = 8. 6 / 8.
    assert (t.accepted_on_time, t.accepted, t.waiting_accept_late) == (6, 7, 1)
    assert t.timely_accept_rate == pytest.approx(6 / 8)
    # 按期办结率: handled by the 5-day deadline: #1 (2 d), #2 (4 d), #10 (1 d) = 3; handled: those + #5
    # (7 d) = 4; open past the deadline with the clock running: #3 (reopened), #4 (returned), #8
    # (registered) = 3 — #9 is suspended and not late. 3 / (4 + 3).
    assert (t.handled_on_time, t.handled, t.open_late) == (3, 4, 3)
    assert t.on_time_finish_rate == pytest.approx(3 / 7)
    # 办结率: handled, closed or evaluated now: #1, #2, #5, #10 = 4, over the 8 valid. 4 / 8.
    assert t.finish_rate == pytest.approx(4 / 8)
    # 满意率: rated #1 满意, #2 基本满意, #3 不满意 → (1 + 1) / 3.
    assert (t.rated_good, t.rated) == (2, 3)
    assert t.satisfaction_rate == pytest.approx(2 / 3)
    # 平均办理时长: (48 h + 96 h + 168 h + 24 h) / 4 = 84 h.
    assert t.mean_hours == pytest.approx(84)
    # 超期件: open and late #3, #4, #8 + handled late #5 = 4.
    assert t.overdue == 4
    # 重复诉求率: 1 merged / 10 received.
    assert t.duplicate_rate == pytest.approx(1 / 10)
    # 退单率: dispatched #4, #5 = 2; returned #4 = 1. 1 / 2.
    assert (t.returned, t.dispatched) == (1, 2)
    assert t.return_rate == pytest.approx(1 / 2)

    # The channel rows: 电话 #1–#3, 接待 #4–#7, 12345 #8–#10.
    rows = {r.label: r for r in table.rows}
    assert {label: r.received for label, r in rows.items()} == {"电话": 3, "接待": 4, "12345": 3}
    # 接待: #6 merged and #7 rejected of 4 → valid 2, finished #5 → 办结率 1/2; returns 1 of 2 dispatches.
    assert rows["接待"].finish_rate == pytest.approx(1 / 2)
    assert rows["接待"].return_rate == pytest.approx(1 / 2)
    # 12345: rated none → no 满意率 at all (not 0 %).
    assert rows["12345"].satisfaction_rate is None


def test_dimensions_fold_into_the_same_total(case, persona):
    staff = persona("staff1")
    by_category = ticket_kpis(staff, dimension="category", **MARCH)
    received = {r.label: r.received for r in by_category.rows}
    # 下水堵塞 #1 + 路灯损坏 #2 → 市政设施; 楼道堆物 #3 #6 + 垃圾清运 #10 → 环境卫生; 停电 ×2 + 水压不足 → 供电供水.
    assert received == {"市政设施": 2, "环境卫生": 3, "供电供水": 3, "政策咨询": 2}
    by_month = ticket_kpis(staff, dimension="month", start=datetime.date(2025, 2, 1), end=MARCH["end"])
    assert [(r.label, r.received) for r in by_month.rows] == [("2025-03", 10)]
    # Within one month the row is counted without grouping by month: the same figures.
    march = ticket_kpis(staff, dimension="month", **MARCH)
    assert _figures(march) == _figures(by_month)
    by_department = ticket_kpis(staff, dimension="department", **MARCH)
    assert {r.label: r.received for r in by_department.rows} == {"民安供电公司": 2, "未派单位（社区自办）": 8}
    # 退单率 by the department it was dispatched to.
    power = next(r for r in by_department.rows if r.label == "民安供电公司")
    assert power.return_rate == pytest.approx(1 / 2)
    by_area = ticket_kpis(staff, dimension="area", **MARCH)
    grid_row = next(r for r in by_area.rows if r.key == str(persona("grid1").area_id))
    assert grid_row.received == 10 and by_area.total.received == 10
    for table in (by_category, by_month, by_department, by_area):
        assert table.total.received == 10 and table.total.overdue == 4 and table.total.returned == 1


def test_the_period_is_whole_local_days(case, persona):
    staff = persona("staff1")
    assert ticket_kpis(staff, start=datetime.date(2025, 3, 3), end=datetime.date(2025, 3, 3)).total.received == 10
    assert ticket_kpis(staff, start=datetime.date(2025, 3, 4), end=datetime.date(2025, 3, 31)).total.received == 0
    assert ticket_kpis(staff, start=datetime.date(2025, 3, 1), end=datetime.date(2025, 3, 2)).total.received == 0


def test_a_grid_worker_counts_only_their_grid(persona):
    staff, grid_worker = persona("staff1"), persona("grid1")
    other_grid = Area.objects.filter(parent=staff.area, level="grid").exclude(pk=grid_worker.area_id).first()
    _make(staff, "下水堵塞", "phone", grid_worker.area, [], times={"accepted_at": None})
    _make(staff, "下水堵塞", "phone", other_grid, [], times={"accepted_at": None})
    assert ticket_kpis(grid_worker, **MARCH).total.received == 1
    assert ticket_kpis(grid_worker, dimension="channel", **MARCH).total.received == 1
    by_area = ticket_kpis(staff, **MARCH)
    assert by_area.total.received == 2
    rows = {r.key: r.received for r in by_area.rows}
    assert rows[str(grid_worker.area_id)] == 1 and rows[str(other_grid.pk)] == 1
    # Another community's staff sees none of it.
    assert ticket_kpis(persona("staff2"), **MARCH).total.received == 0


# The cube (whole past months) ----------------------------------------------------------------------

MAY = datetime.datetime(2025, 5, 10, 12, 0, tzinfo=TZ)  # March and April are whole past months then
SPRING = {"start": datetime.date(2025, 2, 20), "end": datetime.date(2025, 4, 30)}
_COUNTS = ("received", "merged", "rejected", "accepted", "accepted_on_time", "waiting_accept_late", "handled",
           "handled_on_time", "handled_late", "open_late", "handled_seconds", "finished", "rated", "rated_good",
           "dispatched", "returned")  # fmt: skip


def _figures(table) -> dict:
    return {r.label: tuple(getattr(r, name) for name in _COUNTS) for r in [*table.rows, table.total]}


def test_the_cube_gives_the_figures_counted_live(case, persona):
    staff = persona("staff1")
    # One more demand received on 2 April, outside March: the period is cube (March, April) and live
    # (20–28 February) at once.
    services.ticket_create(
        actor=staff,
        category=Category.objects.get(name="停电"),
        channel="phone",
        description="四月的诉求",
        received_at=R + 30 * D,
    )
    live = {d: ticket_kpis(staff, dimension=d, live=True, **SPRING) for d in ("area", "category", "month")}
    assert services.ticket_figures_refresh(now=MAY) == [datetime.date(2025, 3, 1), datetime.date(2025, 4, 1)]
    for dimension in ("area", "category", "channel", "department", "month", "handler"):
        table = ticket_kpis(staff, dimension=dimension, **SPRING)
        assert _figures(table) == _figures(ticket_kpis(staff, dimension=dimension, live=True, **SPRING)), dimension
        # The handler dimension is not in the cube: always live.
        expected = [] if dimension == "handler" else [datetime.date(2025, 3, 1), datetime.date(2025, 4, 1)]
        assert table.cube_months == expected
    for dimension, table in live.items():
        assert _figures(ticket_kpis(staff, dimension=dimension, **SPRING)) == _figures(table)
    assert ticket_kpis(staff, dimension="channel", **SPRING).total.received == 11
    # A grid worker's scope is finer than the cube: counted live, same figures.
    grid_worker = persona("grid1")
    assert ticket_kpis(grid_worker, **MARCH).cube_months == []
    assert ticket_kpis(grid_worker, **MARCH).total.received == 10
    # Another community's staff reads the cube too and finds none of it.
    other = ticket_kpis(persona("staff2"), dimension="category", **MARCH)
    assert other.cube_months == [datetime.date(2025, 3, 1)] and other.total.received == 0


def test_a_step_after_the_refresh_counts_from_the_next_one(case, persona):
    staff = persona("staff1")
    services.ticket_figures_refresh(now=MAY)
    before = ticket_kpis(staff, dimension="channel", **MARCH)
    assert before.total.accepted == 7 and before.as_of is not None
    # #8 (registered) is accepted now: the cube still holds March as of the refresh...
    services.ticket_act(actor=staff, number=case[8].number, action="accept")
    assert ticket_kpis(staff, dimension="channel", **MARCH).total.accepted == 7
    assert ticket_kpis(staff, dimension="channel", live=True, **MARCH).total.accepted == 8
    # ... and the next refresh computes March again from the step's changed_at.
    assert datetime.date(2025, 3, 1) in services.ticket_figures_refresh(now=MAY)
    after = ticket_kpis(staff, dimension="channel", **MARCH)
    assert after.total.accepted == 8 and after.as_of >= before.as_of
    assert _figures(after) == _figures(ticket_kpis(staff, dimension="channel", live=True, **MARCH))


def test_the_sweep_command_refreshes_the_cube(case, persona):
    staff = persona("staff1")
    assert ticket_kpis(staff, **MARCH).cube_months == []
    call_command("tickets_sweep", stdout=io.StringIO())
    table = ticket_kpis(staff, dimension="channel", **MARCH)
    assert table.cube_months == [datetime.date(2025, 3, 1)] and table.total.received == 10


def test_the_page_says_which_months_are_as_of_the_refresh(case, client_as):
    client = client_as("staff1")
    assert 'data-testid="kpi-as-of"' not in client.get(f"/tickets/kpis/?{MARCH_QUERY}").content.decode()
    services.ticket_figures_refresh(now=MAY)
    html = client.get(f"/tickets/kpis/?{MARCH_QUERY}").content.decode()
    assert "2025-03 至 2025-03 各整月的计数截至" in html


# The page and the .xlsx ----------------------------------------------------------------------------

MARCH_QUERY = "start=2025-03-01&end=2025-03-31"


def _rows(content: bytes) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_the_page_shows_the_table_and_the_xlsx_holds_the_same_figures(case, client_as):
    client = client_as("staff1")
    html = client.get(f"/tickets/kpis/?{MARCH_QUERY}&dimension=channel").content.decode()
    assert "诉求统计" in html and "及时受理率" in html
    # The total row: 10 received, 8 valid, 75.0 % accepted on time, 3/7 = 42.9 % on time, 84.0 h.
    total = html[html.index('class="total"') :]
    for cell in (">10<", ">8<", ">75.0%<", ">42.9%<", ">50.0%<", ">66.7%<", ">84.0<", ">10.0%<"):
        assert cell in total, cell
    before = AuditEntry.objects.filter(action="ticket.kpi_export").count()
    response = client.post(f"/tickets/kpis/xlsx/?{MARCH_QUERY}&dimension=channel")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    rows = _rows(response.content)
    assert rows[1][:4] == ["渠道", "受理量", "有效件", "及时受理率"]
    by_label = {r[0]: r[1:] for r in rows[2:]}
    assert set(by_label) == {"电话", "接待", "12345", "合计"}
    assert by_label["合计"][:4] == [10, 8, pytest.approx(0.75), pytest.approx(3 / 7)]
    assert by_label["12345"][5] == "—"  # 满意率 without a rating
    assert AuditEntry.objects.filter(action="ticket.kpi_export").count() == before + 1


def test_a_bad_period_names_the_field(client_as):
    response = client_as("staff1").get("/tickets/kpis/?start=2025-03-31&end=2025-03-01")
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in response.content.decode()


def test_the_demand_list_export_masks_phones_and_keeps_to_the_filters(client_as, persona):
    staff = persona("staff1")
    with_phone = services.ticket_create(
        actor=staff,
        category=Category.objects.get(name="停电"),
        channel="phone",
        description="整栋楼停电",
        received_at=R,
        reporter_name="李女士",
        reporter_phone="13947719876",
    )
    services.ticket_create(
        actor=staff, category=Category.objects.get(name="政策咨询"), channel="desk", description="咨询", received_at=R
    )
    client = client_as("staff1")
    assert client.get("/tickets/export/").status_code == 200
    form = {"start": "2025-03-01", "end": "2025-03-31", "category": Category.objects.get(name="供电供水").pk}
    response = client.post("/tickets/export/", form)
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    rows = _rows(response.content)
    assert rows[0][:6] == ["编号", "分类", "渠道", "紧急程度", "地点", "状态"]
    # The top category takes its sub-category 停电 with it; the 政策咨询 demand is filtered out.
    assert [r[0] for r in rows[1:]] == [with_phone.number]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["分类"] == "供电供水/停电" and row["反映人"] == "李女士" and row["状态"] == "已登记"
    assert row["联系电话"] == "139****9876"
    assert "13947719876" not in str(rows)
    entry = AuditEntry.objects.filter(action="ticket.export").latest("pk")
    assert entry.data["count"] == 1 and entry.data["filters"]["start"] == "2025-03-01"
    # Another community's staff gets the same filters and none of these demands.
    other = _rows(client_as("staff2").post("/tickets/export/", form).content)
    assert with_phone.number not in [r[0] for r in other[1:]]


def test_roles_without_the_figures_get_403(client_as):
    for username in ("grid1", "liaison1", "dept1", "bhead1"):
        client = client_as(username)
        assert client.get("/tickets/kpis/").status_code == 403
        assert client.post("/tickets/kpis/xlsx/").status_code == 403
        assert client.post("/tickets/export/", {}).status_code == 403
