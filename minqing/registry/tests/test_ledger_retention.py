"""Uploaded ledgers hold every ID number in clear: one never confirmed, and the workbook of refused
rows, are deleted after MINQING_IMPORT_KEEP_DAYS (7 by default), and the page says so."""

import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from minqing.registry.ledger import kept
from minqing.registry.ledger.retention import ledger_uploads_expire
from minqing.registry.models import ImportStatus, LedgerImport
from minqing.registry.tests.ledger_files import write_xlsx
from minqing.registry.tests.test_ledger_import import HEADER, messy_rows
from minqing.registry.tests.test_ledger_views import _upload

pytestmark = pytest.mark.django_db


def test_an_unconfirmed_upload_and_the_refused_rows_go_after_the_retention_period(client_as, tmp_path):
    client = client_as("staff1")
    _upload(client, write_xlsx(tmp_path / "已导入.xlsx", HEADER, messy_rows()))
    done = LedgerImport.objects.latest("pk")
    client.post(f"/imports/{done.pk}/commit/")
    _upload(client, write_xlsx(tmp_path / "未确认.xlsx", HEADER, messy_rows()))
    waiting = LedgerImport.objects.latest("pk")
    done.refresh_from_db()
    assert done.status == ImportStatus.COMMITTED and done.error_file
    assert waiting.status == ImportStatus.PREVIEWED
    upload, error_file = Path(waiting.file.path), Path(done.error_file.path)
    assert upload.exists() and kept.kept_path(upload).exists() and error_file.exists()

    # Six days on, everything is still there.
    assert ledger_uploads_expire(now=timezone.now() + datetime.timedelta(days=6)) == {"uploads": 0, "error_files": 0}
    assert upload.exists() and error_file.exists()

    # Eight days on: the files are gone (both imports' refused rows), the records stay, and the pages say
    # what happened.
    assert ledger_uploads_expire(now=timezone.now() + datetime.timedelta(days=8)) == {"uploads": 1, "error_files": 2}
    assert not upload.exists() and not kept.kept_path(upload).exists() and not error_file.exists()
    waiting.refresh_from_db()
    assert waiting.status == ImportStatus.FAILED and not waiting.file
    page = client.get(f"/imports/{waiting.pk}/").content.decode()
    assert "上传超过 7 天未确认导入，文件已删除" in page and 'data-testid="confirm"' not in page
    assert client.get(f"/imports/{done.pk}/errors.xlsx").status_code == 404
    assert client.get(f"/imports/{done.pk}/report.json").json()["summary"]["created"] == 3
    # Run again (the daily command): nothing left to delete.
    call_command("ledger_expire", stdout=open("/dev/null", "w"))
    assert ledger_uploads_expire(now=timezone.now() + datetime.timedelta(days=9)) == {"uploads": 0, "error_files": 0}
