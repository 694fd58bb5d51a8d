"""Visits as a .xlsx (one row per visit), for the viewer's scope and a period, and the figures table
(走访统计). Audited like the resident export: the file carries names, addresses and health readings."""

import datetime
import io

import xlsxwriter
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Capability, has_capability
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.core.figures import figures_xlsx
from minqing.visits import selectors
from minqing.visits.kpis import COLUMNS as KPI_COLUMNS
from minqing.visits.kpis import DIMENSIONS, VisitKpiTable

COLUMNS = [
    ("走访时间", 17), ("网格", 12), ("小区", 14), ("楼栋", 8), ("单元", 7), ("房号", 7), ("走访事由", 12),
    ("走访对象", 10), ("见到的人", 16), ("体温", 6), ("血压", 9), ("提示", 14), ("走访情况", 30),
    ("走访人", 10), ("转为诉求", 16),
]  # fmt: skip
MAX_DAYS = 366


def export_filename(today: datetime.date | None = None) -> str:
    return _("走访记录-%(date)s.xlsx") % {"date": (today or timezone.localdate()).strftime("%Y%m%d")}


def export_visits(*, viewer, start: datetime.date | None, end: datetime.date | None, request=None) -> bytes:
    if not has_capability(viewer, Capability.EXPORT_RESIDENTS):
        raise PermissionDenied()
    end = end or timezone.localdate()
    start = start or end - datetime.timedelta(days=30)
    if start > end:
        raise ApplicationError(_("开始日期不能晚于结束日期。"), field="start")
    if (end - start).days > MAX_DAYS:
        raise ApplicationError(_("一次最多导出 %(n)d 天。") % {"n": MAX_DAYS}, field="start")
    visits = (
        selectors.visits_visible_to(viewer)
        .filter(visited_at__date__gte=start, visited_at__date__lte=end)
        .select_related("worker", "ticket", "resident", *selectors._PLACE)
        .prefetch_related("met")
        .order_by("visited_at", "pk")
    )
    readings = has_capability(viewer, Capability.VIEW_SENSITIVE)
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = workbook.add_worksheet(_("走访记录"))
    head = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    for col, (title, width) in enumerate(COLUMNS):
        sheet.write_string(0, col, title, head)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    row = 0
    for v in visits.iterator(chunk_size=1000):
        row += 1
        d = v.household.dwelling
        mine = readings or v.worker_id == viewer.pk
        values = [
            timezone.localtime(v.visited_at).strftime("%Y-%m-%d %H:%M"),
            d.building.grid.name,
            d.building.estate.name,
            d.building.name,
            d.unit.name if d.unit_id else "",
            d.room,
            v.get_purpose_display(),
            v.resident.name if v.resident_id else "",
            "、".join(m.name for m in v.met.all()),
            str(v.temperature) if mine and v.temperature is not None else "",
            f"{v.systolic}/{v.diastolic}" if mine and v.systolic else "",
            "、".join(v.flag_labels()) if mine else "",
            v.note,
            v.worker.display_name,
            v.ticket.number if v.ticket_id else "",
        ]
        for col, value in enumerate(values):
            sheet.write_string(row, col, str(value))
    workbook.close()
    with transaction.atomic():
        audit_record(
            action="visit.export",
            actor=viewer,
            request=request,
            target_label=_("走访记录（%(n)d 条）") % {"n": row},
            data={"count": row, "start": start.isoformat(), "end": end.isoformat()},
        )
    return output.getvalue()


def export_visit_kpis(table: VisitKpiTable, *, viewer, request=None) -> bytes:
    """The figures table as the page shows it, rates as percentages Excel can compute with."""
    title = _("走访统计 %(start)s 至 %(end)s（按%(dimension)s）") % {
        "start": table.start.isoformat(),
        "end": table.end.isoformat(),
        "dimension": DIMENSIONS[table.dimension],
    }
    dimension = str(DIMENSIONS[table.dimension])
    content = figures_xlsx(table, KPI_COLUMNS, sheet=_("走访统计"), title=title, dimension=dimension, first_width=18)
    with transaction.atomic():
        audit_record(
            action="visit.kpi_export",
            actor=viewer,
            request=request,
            target_label=title,
            data={"dimension": table.dimension, "start": table.start.isoformat(), "end": table.end.isoformat()},
        )
    return content
