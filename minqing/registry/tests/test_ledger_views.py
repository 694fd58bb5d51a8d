"""The import pages as community staff use them: upload, preview, confirm, download the refused rows."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from minqing.areas.models import Area
from minqing.registry.models import ImportStatus, LedgerImport, Resident
from minqing.registry.tasks import ledger_import_commit_task, ledger_import_preview_task
from minqing.registry.tests.ledger_files import write_xlsx
from minqing.registry.tests.test_ledger_import import HEADER, JIAHE, messy_rows

pytestmark = pytest.mark.django_db
CSRF = re.compile(rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')


def _upload(client, path, community_code=JIAHE):
    community = Area.objects.get(code=community_code)
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    return client.post("/imports/", {"community": community.pk, "file": upload})


def test_staff_previews_commits_and_downloads_the_refused_rows(client_as, tmp_path):
    client = client_as("staff1")
    response = _upload(client, write_xlsx(tmp_path / "台账.xlsx", HEADER, messy_rows()))
    item = LedgerImport.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/imports/{item.pk}/"
    page = client.get(f"/imports/{item.pk}/").content.decode()
    assert "预检结果" in page and "确认导入 3 行" in page
    assert "公民身份号码" in page and "校验位" in page and "居民姓名" in page
    assert not Resident.objects.filter(name="张杰").exists()
    assert client.post(f"/imports/{item.pk}/commit/").status_code == 302
    item.refresh_from_db()
    assert item.status == ImportStatus.COMMITTED
    assert Resident.objects.filter(name__in=["张杰", "李娜", "王五"]).count() == 3
    assert not item.file and item.file_name == "台账.xlsx"  # the ledger itself is not kept
    download = client.get(f"/imports/{item.pk}/errors.xlsx")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    path = tmp_path / "errors.xlsx"
    path.write_bytes(b"".join(download.streaming_content))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0][-1] == "错误原因" and len(rows) == 7
    report = client.get(f"/imports/{item.pk}/report.json").json()
    assert report["summary"]["created"] == 3
    # A second confirmation does nothing.
    client.post(f"/imports/{item.pk}/commit/")
    assert Resident.objects.filter(name="张杰").count() == 1


def test_an_import_of_another_community_is_not_found(client_as, tmp_path):
    _upload(client_as("staff1"), write_xlsx(tmp_path / "a.xlsx", HEADER, messy_rows()))
    item = LedgerImport.objects.latest("pk")
    outsider = client_as("staff2")
    missing = outsider.get("/imports/987654321/")
    for url in ("/imports/{}/", "/imports/{}/errors.xlsx", "/imports/{}/report.json", "/imports/{}/progress/"):
        response = outsider.get(url.format(item.pk))
        assert response.status_code == 404
    assert outsider.post(f"/imports/{item.pk}/commit/").status_code == 404
    assert CSRF.sub(b"", outsider.get(f"/imports/{item.pk}/").content) == CSRF.sub(b"", missing.content)
    assert item.file_name not in outsider.get("/imports/").content.decode()


def test_roles_that_do_not_import_get_403(client_as):
    for username in ("liaison1", "grid1", "street1", "dept1"):
        assert client_as(username).get("/imports/").status_code == 403


def test_upload_into_a_community_out_of_scope_is_refused(client_as, tmp_path):
    response = _upload(client_as("staff1"), write_xlsx(tmp_path / "a.xlsx", HEADER, messy_rows()), "150603002001")
    assert response.status_code == 200 and not LedgerImport.objects.exists()


def test_a_file_without_a_header_is_refused_on_the_page(client_as):
    community = Area.objects.get(code=JIAHE)
    upload = SimpleUploadedFile("x.csv", "随便,写点\n1,2\n".encode())
    response = client_as("staff1").post("/imports/", {"community": community.pk, "file": upload})
    assert response.status_code == 200 and "未找到表头" in response.content.decode()


def test_a_large_file_runs_in_the_background_with_progress(
    client_as, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MINQING_IMPORT_INLINE_ROWS = 2
    client = client_as("staff1")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _upload(client, write_xlsx(tmp_path / "big.xlsx", HEADER, messy_rows()))
    item = LedgerImport.objects.latest("pk")
    assert len(callbacks) == 1 and item.status == ImportStatus.UPLOADED
    progress = client.get(f"/imports/{item.pk}/progress/")
    assert 'hx-trigger="every 1s"' in progress.content.decode() and "HX-Refresh" not in progress
    ledger_import_preview_task.call(item.pk)
    assert client.get(f"/imports/{item.pk}/progress/")["HX-Refresh"] == "true"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(f"/imports/{item.pk}/commit/")
    item.refresh_from_db()
    assert item.status == ImportStatus.COMMITTING and len(callbacks) == 1
    ledger_import_commit_task.call(item.pk, item.created_by_id)
    item.refresh_from_db()
    assert item.status == ImportStatus.COMMITTED and item.summary["created"] == 3
    assert io.BytesIO(item.error_file.read()).getbuffer().nbytes > 0
