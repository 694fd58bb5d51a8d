"""The life of one ledger import (LedgerImport): upload → preview → commit, inline for small files
and as a background task for large ones. The preview writes nothing but the import's own row and
file; the commit re-reads and re-plans — reusing the preview's cleaned rows (ledger.kept), so only the
matching against the registry is done again — and writes every valid row in one transaction, with one audit
entry for the whole import (its counts), and keeps the refused rows as a workbook to fix."""

import datetime
import io
import json
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Capability, has_capability
from minqing.areas.models import Area, AreaLevel
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.registry import selectors
from minqing.registry.ledger import kept
from minqing.registry.ledger.importer import Plan, plan_import, without_cyclic_gc, write_plan
from minqing.registry.ledger.reader import Sheet, read_sheet
from minqing.registry.models import ImportStatus, LedgerImport

ALLOWED_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".csv")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ERROR_COLUMN = "错误原因"


def inline_rows() -> int:
    """Files with more data rows than this are previewed and committed by the task worker."""
    return settings.MINQING_IMPORT_INLINE_ROWS


def _community_for_import(actor, community) -> Area:
    if not has_capability(actor, Capability.IMPORT_RESIDENTS):
        raise PermissionDenied()
    if isinstance(community, Area):
        community = community.pk
    if community in (None, ""):
        raise ApplicationError(_("请选择社区。"), field="community")
    found = selectors.communities_for_import(actor).filter(pk=community, level=AreaLevel.COMMUNITY).first()
    if found is None:
        raise ApplicationError(_("社区不存在或不在管辖范围内。"), field="community")
    return found


def ledger_import_create(*, actor, community, file_name: str, content: bytes, request=None) -> LedgerImport:
    """Store the upload and count its rows (reading a sheet takes ~1 s per 100,000 rows)."""
    area = _community_for_import(actor, community)
    name = Path(file_name or "").name[:200]
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise ApplicationError(_("只支持 .xlsx、.xls、.ods 和 .csv 文件"), field="file")
    if not content:
        raise ApplicationError(_("文件为空"), field="file")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ApplicationError(_("文件不能超过 50 MB"), field="file")
    with transaction.atomic():
        ledger_import = LedgerImport(community=area, created_by=actor, file_name=name)
        ledger_import.file.save(name, ContentFile(content), save=False)
        ledger_import.save()
    try:
        sheet = read_sheet(ledger_import.file.path, name)
    except ApplicationError as exc:
        _fail(ledger_import, str(exc.message))
        raise
    LedgerImport.objects.filter(pk=ledger_import.pk).update(rows_total=len(sheet.rows))
    ledger_import.rows_total = len(sheet.rows)
    return ledger_import


def _fail(ledger_import: LedgerImport, message: str) -> None:
    LedgerImport.objects.filter(pk=ledger_import.pk).update(
        status=ImportStatus.FAILED, failure=message[:2000], finished_at=timezone.now()
    )
    ledger_import.status, ledger_import.failure = ImportStatus.FAILED, message


def _progress(ledger_import: LedgerImport):
    def report(done: int) -> None:
        LedgerImport.objects.filter(pk=ledger_import.pk).update(rows_done=done)

    return report


def _store_results(ledger_import: LedgerImport, plan: Plan, *, status: str) -> None:
    report = plan.report()
    ledger_import.summary = {**report["summary"], "new_places_list": plan.new_places[:200]}
    ledger_import.report = report["rows"]
    ledger_import.status = status
    ledger_import.rows_done = ledger_import.rows_total = plan.rows_total
    refused = plan.refused_rows()
    if refused:
        content = ContentFile(error_workbook(plan.sheet, refused))
        ledger_import.error_file.save(f"{Path(ledger_import.file_name).stem}-错误行.xlsx", content, save=False)
    fields = ["summary", "report", "status", "rows_done", "rows_total", "error_file"]
    if status == ImportStatus.COMMITTED:
        ledger_import.finished_at = timezone.now()
        fields.append("finished_at")
    ledger_import.save(update_fields=fields)


@without_cyclic_gc()
def plan_file(
    path, *, file_name: str = "", actor, community: Area, today=None, reuse_kept: bool = False, progress=None
) -> Plan:
    """Read and plan the file at `path`. The preview keeps its cleaned rows beside the file
    (`kept.keep`); the commit (`reuse_kept`) reuses them where they still hold, so only the
    matching against the registry as it is now is done again."""
    today = today or timezone.localdate()
    # The kept rows first: decrypting and unpacking them needs a few copies of the file for a moment,
    # better not on top of the sheet's cells.
    reuse = kept.load(path, today=today) if reuse_kept else None
    sheet = read_sheet(path, file_name)
    if progress:
        progress(0, len(sheet.rows))
    plan = plan_import(actor=actor, community=community, sheet=sheet, today=today, reuse=reuse, progress=progress)
    if not reuse_kept:
        kept.keep(path, plan, today=today)
    plan.kept = None  # kept or not, the rows that matter live on in plan.planned
    return plan


def _plan(ledger_import: LedgerImport, actor, *, reuse_kept: bool) -> tuple[Sheet, Plan]:
    report = _progress(ledger_import)

    def progress(done: int, total: int | None = None) -> None:
        if total is not None:
            LedgerImport.objects.filter(pk=ledger_import.pk).update(rows_total=total, rows_done=0)
            ledger_import.rows_total = total
        else:
            report(done)

    plan = plan_file(
        ledger_import.file.path,
        file_name=ledger_import.file_name,
        actor=actor,
        community=ledger_import.community,
        reuse_kept=reuse_kept,
        progress=progress,
    )
    return plan.sheet, plan


def ledger_import_preview(*, ledger_import_id: int) -> LedgerImport:
    """Plan the import and keep what it would do; nothing else is written."""
    ledger_import = LedgerImport.objects.select_related("community", "created_by").get(pk=ledger_import_id)
    claimed = LedgerImport.objects.filter(
        pk=ledger_import.pk, status__in=[ImportStatus.UPLOADED, ImportStatus.PREVIEWING]
    ).update(status=ImportStatus.PREVIEWING)
    if not claimed:
        return ledger_import
    try:
        _sheet, plan = _plan(ledger_import, ledger_import.created_by, reuse_kept=False)
    except ApplicationError as exc:
        _fail(ledger_import, str(exc.message))
        return ledger_import
    except Exception:
        # The page must not show "正在预检" forever; the error itself goes to the log.
        _fail(ledger_import, _("预检时发生内部错误，请稍后重试或联系管理员。"))
        raise
    _store_results(ledger_import, plan, status=ImportStatus.PREVIEWED)
    return ledger_import


def ledger_import_start_commit(*, actor, ledger_import: LedgerImport) -> bool:
    """Claim the import for committing (only once, only after its preview). True when claimed."""
    if not has_capability(actor, Capability.IMPORT_RESIDENTS):
        raise PermissionDenied()
    claimed = LedgerImport.objects.filter(pk=ledger_import.pk, status=ImportStatus.PREVIEWED).update(
        status=ImportStatus.COMMITTING, rows_done=0
    )
    if not claimed:
        raise ApplicationError(_("该导入已确认或尚未完成预检。"), field="status")
    ledger_import.status = ImportStatus.COMMITTING
    return True


def ledger_import_commit(*, ledger_import_id: int, actor_id: int | None = None, request=None) -> LedgerImport:
    """Re-read and re-plan (the registry may have changed since the preview), then write every valid
    row in one transaction. Refused rows are reported, never half-written."""
    ledger_import = LedgerImport.objects.select_related("community", "created_by").get(pk=ledger_import_id)
    if ledger_import.status != ImportStatus.COMMITTING:
        return ledger_import
    actor = ledger_import.created_by
    if actor_id and actor_id != actor.pk:
        actor = type(actor).objects.get(pk=actor_id)
    try:
        _sheet, plan = _plan(ledger_import, actor, reuse_kept=True)
        with transaction.atomic():
            write_plan(plan, actor=actor, community=ledger_import.community)
            summary = plan.summary
            audit_record(
                action="ledger.import",
                actor=actor,
                target=ledger_import,
                request=request,
                data={k: summary[k] for k in ("rows", "created", "updated", "unchanged", "duplicate", "refused")}
                | {"households": summary["households"], "file": ledger_import.file_name},
            )
            _store_results(ledger_import, plan, status=ImportStatus.COMMITTED)
        # The ledger holds every ID number and phone in clear: once its rows are in the registry (and
        # the refused ones in the error workbook) the upload is not kept on disk.
        kept.discard(ledger_import.file.path)
        ledger_import.file.delete(save=True)
    except ApplicationError as exc:
        _fail(ledger_import, str(exc.message))
    except IntegrityError:
        # Someone registered one of these people between the plan and the write: nothing landed.
        _fail(ledger_import, _("导入期间有其他人修改了居民数据，本次未写入任何数据，请重新上传。"))
    except Exception:
        _fail(ledger_import, _("导入时发生内部错误，未写入任何数据，请稍后重试或联系管理员。"))
        raise
    finally:
        # A failed commit cannot be confirmed again (it is re-uploaded): its kept rows go either way.
        if ledger_import.file:
            kept.discard(ledger_import.file.path)
    return ledger_import


# The workbook of refused rows -------------------------------------------------------------------


def error_workbook(sheet: Sheet, refused) -> bytes:
    """The ledger's own header and the refused rows as they were, with 错误原因 last: fix and re-import."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet_out = workbook.add_worksheet("错误行")
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    text_format = workbook.add_format({"num_format": "@"})
    headers = [*sheet.headers, ERROR_COLUMN]
    for col, header in enumerate(headers):
        sheet_out.write_string(0, col, header, bold)
    id_col = sheet.columns.get("id_number")
    for r, (result, cells) in enumerate(refused, start=1):
        for col, value in enumerate(cells):
            if value is None or value == "":
                continue
            if isinstance(value, datetime.datetime | datetime.date):
                sheet_out.write_datetime(r, col, value, date_format)
            elif isinstance(value, bool):
                sheet_out.write_boolean(r, col, value)
            elif isinstance(value, int | float):
                sheet_out.write_number(r, col, value)
            elif col == id_col:
                # Kept as text so Excel does not round it again.
                sheet_out.write_string(r, col, str(value), text_format)
            else:
                sheet_out.write_string(r, col, str(value))
        reason = f"{result.field}：{result.message}" if result.field else result.message
        sheet_out.write_string(r, len(sheet.headers), reason)
    if id_col is not None:
        sheet_out.set_column(id_col, id_col, 22, text_format)
    sheet_out.set_column(len(sheet.headers), len(sheet.headers), 60)
    workbook.close()
    return buffer.getvalue()


def report_json(ledger_import: LedgerImport) -> str:
    summary = {k: v for k, v in ledger_import.summary.items() if k != "new_places_list"}
    return json.dumps({"summary": summary, "rows": ledger_import.report}, ensure_ascii=False, indent=1)
