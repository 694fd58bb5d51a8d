"""A community staff member imports a ledger with errors in a real browser: uploads it, reads the
preview, confirms, and downloads the refused rows to fix them."""

import datetime

import pytest
from python_calamine import CalamineWorkbook

from minqing.core.tests.test_browser import CHROMIUM_ARGS, DEMO_PASSWORD, DESKTOP, SCREENSHOTS
from minqing.registry.tests.ledger_files import excel_row, id_number, write_xlsx, wrong_check

pytestmark = pytest.mark.browser

HEADER = ["序号", "姓名", "身份证号码", "出生日期", "联系电话", "住址", "与户主关系", "人员类别"]


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def test_staff_imports_a_ledger_with_errors(live_app, chromium, tmp_path):
    rows = [
        [1, "欧阳明", id_number("19580808", 61), datetime.date(1958, 8, 8), "13600136000", "嘉和苑5号楼1单元101室",
         "户主", "独居老人"],
        [2, "欧阳丽", id_number("19600909", 62, female=True), "1960/9/9", "", "嘉和苑5号楼1单元101室", "妻子", "无"],
        [3, "白错号", wrong_check(id_number("19700101", 63)), "", "", "嘉和苑5号楼1单元102室", "户主", ""],
        [4, "", id_number("19710101", 64), "", "", "嘉和苑5号楼1单元102室", "户主", ""],
        ["合计", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    ledger = write_xlsx(tmp_path / "嘉和苑5号楼台账.xlsx", HEADER, rows)
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{live_app.url}/accounts/login/")
        page.get_by_label("用户名").fill("staff1")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_app.url}/")
        page.locator("nav.nav").get_by_role("link", name="导入台账").click()
        page.wait_for_url(f"{live_app.url}/imports/")
        assert page.get_by_label("社区").locator("option").all_inner_texts() == ["嘉和社区"]
        page.get_by_label("台账文件").set_input_files(str(ledger))
        page.get_by_role("button", name="上传并预检").click()
        page.wait_for_url(f"{live_app.url}/imports/*/")

        summary = page.get_by_test_id("summary")
        assert "预检结果（尚未写入）" in summary.inner_text()
        assert page.get_by_test_id("created").inner_text() == "2"
        assert page.get_by_test_id("refused").inner_text() == "2"
        problems = [
            [cell.inner_text() for cell in row.locator("td").all()]
            for row in page.get_by_test_id("problems").locator("tbody tr").all()
        ]
        first = excel_row()
        assert problems[0][:3] == [str(first + 2), "不能导入", "身份证号码"] and "校验位" in problems[0][3]
        assert problems[1][:3] == [str(first + 3), "不能导入", "姓名"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "ledger-import-preview-1280.png", full_page=True)

        page.get_by_test_id("confirm").click()
        page.wait_for_load_state()
        assert page.get_by_test_id("status").inner_text() == "已导入"
        assert "导入结果" in page.get_by_test_id("summary").inner_text()

        with page.expect_download() as download_info:
            page.get_by_test_id("download-errors").click()
        download = download_info.value
        assert download.suggested_filename.endswith("错误行.xlsx")
        path = tmp_path / "errors.xlsx"
        download.save_as(path)
    finally:
        context.close()

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert sheet[0] == [*HEADER, "错误原因"]
    assert [row[1] for row in sheet[1:]] == ["白错号", ""]
    assert sheet[1][-1].startswith("身份证号码：") and "校验位" in sheet[1][-1]
    assert sheet[2][-1].startswith("姓名：")
    count = live_app.shell(
        "from minqing.registry.models import Resident\nprint(Resident.objects.filter(name__startswith='欧阳').count())"
    )
    assert count.strip().splitlines()[-1] == "2"
