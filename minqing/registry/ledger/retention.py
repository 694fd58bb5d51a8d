"""How long an uploaded ledger stays on disk. A 居民信息台账 holds every ID number and phone in clear
(PIPL: personal information kept no longer than its purpose needs): a committed upload is deleted at
once (services), an upload previewed but never confirmed and the workbook of refused rows are deleted
after MINQING_IMPORT_KEEP_DAYS days. The import's record, summary and row report (which show no
identifier in clear) stay."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.registry.ledger import kept
from minqing.registry.models import ImportStatus, LedgerImport

# Previewed or failed: nobody is going to confirm it any more once it is this old.
STALE = (ImportStatus.UPLOADED, ImportStatus.PREVIEWED, ImportStatus.FAILED)


def ledger_uploads_expire(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete the files of the imports older than the retention period; returns how many uploads and
    error workbooks were deleted."""
    days = settings.MINQING_IMPORT_KEEP_DAYS
    before = (now or timezone.now()) - datetime.timedelta(days=days)
    counts = {"uploads": 0, "error_files": 0}
    for pk in LedgerImport.objects.filter(created_at__lt=before).values_list("pk", flat=True):
        with transaction.atomic():
            item = LedgerImport.objects.select_for_update().get(pk=pk)
            fields = []
            if item.file and item.status in STALE:
                kept.discard(item.file.path)
                item.file.delete(save=False)
                if item.status != ImportStatus.FAILED:
                    item.status = ImportStatus.FAILED
                    item.failure = _("上传超过 %(days)d 天未确认导入，文件已删除；如需导入请重新上传。") % {
                        "days": days
                    }
                fields += ["file", "status", "failure"]
                counts["uploads"] += 1
            if item.error_file and (item.finished_at or item.created_at) < before:
                item.error_file.delete(save=False)
                fields.append("error_file")
                counts["error_files"] += 1
            if fields:
                item.save(update_fields=fields)
    return counts
