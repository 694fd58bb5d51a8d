"""A search result as a .xlsx in the ledger layout (居民信息台账), so the file can be imported again.

Masked unless the viewer holds REVEAL_PII, asked for full values and gave a reason. Every export is
audited — a masked one still carries names, addresses and care tags — with the count, the filters,
the reason and whether it was unmasked. Shared by the page and the API."""

import dataclasses
import datetime
import io
from itertools import islice

import xlsxwriter
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Capability, has_capability
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.registry import selectors
from minqing.registry.models import Resident, ResidentStatus

# The ledger's columns, in its order (the import reads the same headings).
COLUMNS = [
    ("序号", 6),
    ("姓名", 10),
    ("性别", 5),
    ("民族", 8),
    ("证件类型", 12),
    ("公民身份号码", 21),
    ("出生日期", 12),
    ("联系电话", 14),
    ("小区", 14),
    ("楼栋", 8),
    ("单元", 7),
    ("房号", 7),
    ("与户主关系", 10),
    ("户籍类型", 8),
    ("政治面貌", 10),
    ("职业", 10),
    ("工作单位", 16),
    ("特长技能", 12),
    ("愿意参与社区事务", 8),
    ("标签", 18),
    ("备注", 20),
    ("状态", 7),
]
CHUNK = 1000


def filters_for_audit(filters: selectors.ResidentFilters) -> dict:
    """The filters as the audit entry keeps them: only those set; an ID number or phone typed into the
    search is not written out in full."""
    data = {k: v for k, v in dataclasses.asdict(filters).items() if k != "errors" and v not in ("", None)}
    for key in ("id_number", "phone"):
        if key in data:
            data[key] = "***"
    if "q" in data and any(ch.isdigit() for ch in data["q"]):
        data["q"] = "***"
    return data


def export_filename(today: datetime.date | None = None) -> str:
    return _("居民名单-%(date)s.xlsx") % {"date": (today or timezone.localdate()).strftime("%Y%m%d")}


def export_residents(
    *, viewer, filters: selectors.ResidentFilters, unmasked: bool = False, reason: str = "", request=None
) -> bytes:
    """The .xlsx bytes of every resident the search finds for `viewer`, and one audit entry."""
    if not has_capability(viewer, Capability.EXPORT_RESIDENTS):
        raise PermissionDenied()
    reason = (reason or "").strip()
    if unmasked:
        if not has_capability(viewer, Capability.REVEAL_PII):
            raise PermissionDenied(_("当前角色不能导出完整证件号码和电话。"))
        if len(reason) < 2:
            raise ApplicationError(_("导出完整号码须填写原因。"), field="reason")
    residents = selectors.search_residents(viewer, filters).select_related(
        "dwelling__building__estate", "dwelling__building__grid", "dwelling__unit"
    )
    output = io.BytesIO()
    # constant_memory: each row goes to a temporary file as it is written, so memory does not grow
    # with the result; rows must then be written in order, which they are.
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True})
    count = _write(workbook, viewer, residents, unmasked=unmasked)
    workbook.close()
    with transaction.atomic():
        audit_record(
            action="resident.export",
            actor=viewer,
            request=request,
            target_label=_("居民名单（%(n)d 人）") % {"n": count},
            data={"count": count, "filters": filters_for_audit(filters), "reason": reason[:200], "unmasked": unmasked},
        )
    return output.getvalue()


def _write(workbook, viewer, residents, *, unmasked: bool) -> int:
    sheet = workbook.add_worksheet(_("居民信息台账"))
    head = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    text = workbook.add_format({"num_format": "@"})  # ID numbers stay text: Excel would round them
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for col, (title, width) in enumerate(COLUMNS):
        sheet.write_string(0, col, title, head)
        sheet.set_column(col, col, width, text if title in ("公民身份号码", "联系电话") else None)
    sheet.freeze_panes(1, 0)
    row = 0
    rows = residents.iterator(chunk_size=CHUNK)
    while chunk := list(islice(rows, CHUNK)):
        selectors.attach_tags(viewer, chunk)
        for resident in chunk:
            row += 1
            _write_row(sheet, row, resident, unmasked=unmasked, text=text, date=date)
    return row


def _write_row(sheet, row: int, r: Resident, *, unmasked: bool, text, date) -> None:
    dwelling = r.dwelling
    number = r.id_number if unmasked else r.id_number_masked
    phone = r.phone if unmasked else r.phone_masked
    # Age tags follow from the birth date and are not imported: only the tags set by hand.
    tags = "、".join(t.name for t in r.shown_tags if not t.automatic)
    values = [
        row,
        r.name,
        r.get_sex_display(),
        r.get_ethnicity_display(),
        r.get_document_kind_display(),
        None,  # written below as text
        r.birth_date,
        None,
        dwelling.building.estate.name,
        dwelling.building.name,
        dwelling.unit.name if dwelling.unit_id else "",
        dwelling.room,
        r.get_relation_display(),
        r.get_registration_type_display(),
        r.get_political_status_display(),
        r.occupation,
        r.employer,
        r.skills,
        _("是") if r.willing_to_serve else _("否"),
        tags,
        r.notes,
        r.get_status_display() if r.status != ResidentStatus.ACTIVE else _("在册"),
    ]
    for col, value in enumerate(values):
        if col == 5:
            sheet.write_string(row, col, number or "", text)
        elif col == 7:
            sheet.write_string(row, col, phone or "", text)
        elif isinstance(value, datetime.date):
            sheet.write_datetime(row, col, datetime.datetime.combine(value, datetime.time()), date)
        elif isinstance(value, int):
            sheet.write_number(row, col, value)
        elif value:
            sheet.write_string(row, col, str(value))
