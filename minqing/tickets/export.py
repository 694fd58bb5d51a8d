"""Demands and their figures as .xlsx: a list of demands (the filters of a list page) and the KPI
table. Phones are always masked here: a list goes around an office, and the full number is one
reveal away on the demand's own page. Every export is audited with its count and filters, like the
residents' export."""

import datetime
import io
from itertools import islice

import xlsxwriter
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minqing.core.audit import audit_record
from minqing.core.figures import figures_xlsx
from minqing.tickets.kpis import COLUMNS as KPI_COLUMNS
from minqing.tickets.kpis import DIMENSIONS, KpiTable
from minqing.tickets.models import Ticket
from minqing.tickets.services import RATINGS

CHUNK = 1000
TICKET_COLUMNS = [
    (gettext_lazy("编号"), 16),
    (gettext_lazy("分类"), 18),
    (gettext_lazy("渠道"), 10),
    (gettext_lazy("紧急程度"), 8),
    (gettext_lazy("地点"), 26),
    (gettext_lazy("状态"), 10),
    (gettext_lazy("接收时间"), 17),
    (gettext_lazy("受理期限"), 17),
    (gettext_lazy("办结期限"), 17),
    (gettext_lazy("受理时间"), 17),
    (gettext_lazy("办结时间"), 17),
    (gettext_lazy("销号时间"), 17),
    (gettext_lazy("办理人"), 10),
    (gettext_lazy("承办单位"), 18),
    (gettext_lazy("反映人"), 10),
    (gettext_lazy("联系电话"), 14),
    (gettext_lazy("评价"), 8),
    (gettext_lazy("诉求内容"), 40),
]


def export_filename(kind: str, today: datetime.date | None = None) -> str:
    return f"{kind}-{(today or timezone.localdate()):%Y%m%d}.xlsx"


def export_tickets(tickets: QuerySet[Ticket], *, viewer, filters: dict | None = None, request=None) -> bytes:
    """The .xlsx of the demands in `tickets` (already scoped to `viewer`), and one audit entry."""
    tickets = tickets.select_related(
        "category__parent", "area", "building__estate", "dwelling__building__estate", "handler", "department"
    ).order_by("-received_at", "-pk")
    output = io.BytesIO()
    # constant_memory: rows go to a temporary file as written, so a district's list does not grow memory.
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True})
    sheet = workbook.add_worksheet(_("诉求清单"))
    head = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for col, (title, width) in enumerate(TICKET_COLUMNS):
        sheet.write_string(0, col, str(title), head)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    mask = Ticket._meta.get_field("reporter_phone").masked
    row = 0
    rows = tickets.iterator(chunk_size=CHUNK)
    while chunk := list(islice(rows, CHUNK)):
        for t in chunk:
            row += 1
            values = [
                t.number,
                str(t.category),
                t.get_channel_display(),
                t.get_urgency_display(),
                _place(t),
                t.get_status_display(),
                t.received_at,
                t.accept_due_at,
                t.finish_due_at,
                t.accepted_at,
                t.handled_at,
                t.closed_at,
                (t.handler.display_name or t.handler.username) if t.handler_id else "",
                t.department.name if t.department_id else "",
                t.reporter_name or (_("登记居民") if t.reporter_resident_id else ""),
                mask(t.reporter_phone) if t.reporter_phone else "",
                str(RATINGS.get(t.rating, "")),
                t.description,
            ]
            for col, value in enumerate(values):
                if isinstance(value, datetime.datetime):
                    sheet.write_datetime(row, col, timezone.localtime(value).replace(tzinfo=None), when)
                elif value:
                    sheet.write_string(row, col, str(value))
    workbook.close()
    with transaction.atomic():
        audit_record(
            action="ticket.export",
            actor=viewer,
            request=request,
            target_label=_("诉求清单（%(n)d 件）") % {"n": row},
            data={"count": row, "filters": filters or {}},
        )
    return output.getvalue()


def _place(t: Ticket) -> str:
    if t.dwelling_id:
        b = t.dwelling.building
        return f"{b.estate.name}{b.name}{t.dwelling.room}"
    if t.building_id:
        return f"{t.building.estate.name}{t.building.name}"
    return t.area.name


def export_kpis(table: KpiTable, *, viewer, request=None) -> bytes:
    """The KPI table as shown on the page, rates as percentages Excel can compute with."""
    title = _("诉求统计 %(start)s 至 %(end)s（按%(dimension)s）") % {
        "start": table.start.isoformat(),
        "end": table.end.isoformat(),
        "dimension": DIMENSIONS[table.dimension],
    }
    content = figures_xlsx(
        table, KPI_COLUMNS, sheet=_("诉求统计"), title=title, dimension=str(DIMENSIONS[table.dimension])
    )
    with transaction.atomic():
        audit_record(
            action="ticket.kpi_export",
            actor=viewer,
            request=request,
            target_label=title,
            data={
                "dimension": table.dimension,
                "start": table.start.isoformat(),
                "end": table.end.isoformat(),
                "area": table.parent.pk if table.parent else None,
            },
        )
    return content
