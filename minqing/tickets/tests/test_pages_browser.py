"""A demand from a phone to 销号 at 360 px: the grid worker reports it on the doorstep (the building
chosen, its dwellings listed in place), staff accept it and dispatch it to 民安供电公司, the company's
account signs for it and finishes it with a note, staff close it, and the timeline shows every step."""

import re

import pytest

from minqing.core.tests.test_browser import (
    DEMO_PASSWORD,
    PHONE,
    SCREENSHOTS,
    chromium,  # noqa: F401  (the shared browser fixture)
)

pytestmark = pytest.mark.browser

# The demand is removed afterwards: the live server is shared by the session's browser tests.
TEARDOWN = """
from minqing.tickets.models import Ticket, TicketEvent, Whistle
tickets = Ticket.objects.filter(number=%(number)r)
TicketEvent.objects.filter(ticket__in=tickets).delete()
Whistle.objects.filter(ticket__in=tickets).delete()
tickets.delete()
"""


def _sign_in(browser, live_app, username: str):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_app.url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_app.url}/")
    return context, page


def _step(page, label: str, note: str = "", **choose) -> None:
    """Open a step from the demand page, fill its form and take it; back on the demand page."""
    url = page.url
    page.get_by_test_id("steps").get_by_role("link", name=label, exact=True).click()
    page.wait_for_url(re.compile(r".*/tickets/MQ\d{8}-\d{4}/[a-z_]+/$"))
    for field, option in choose.items():
        page.get_by_label(field).select_option(label=option)
    if note:
        page.get_by_label(re.compile("^说明")).fill(note)
    page.get_by_test_id("step-form").get_by_role("button", name=label, exact=True).click()
    page.wait_for_url(url)


def _fits(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]


def test_a_demand_goes_from_a_phone_report_to_closing(live_app, chromium):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    number = ""
    try:
        # The grid worker reports from the phone.
        context, page = _sign_in(chromium, live_app, "grid1")
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.get_by_role("link", name="诉求清单").click()
        page.get_by_role("link", name="登记诉求").click()
        page.wait_for_url(re.compile(r".*/tickets/new/$"))
        assert page.get_by_label("渠道").input_value() == "grid_patrol"
        page.get_by_label("诉求分类").select_option(label="停电")
        page.get_by_label("诉求内容").fill("3号楼2单元整栋停电，电梯停运")
        # The dwellings of the building chosen come in place (HTMX), without leaving the form.
        page.evaluate("document.getElementById('place').dataset.stale = '1'")
        page.get_by_label("楼栋").select_option(index=1)
        page.wait_for_function("!document.getElementById('place').dataset.stale")  # swapped in
        building = page.get_by_label("楼栋").evaluate("s => s.selectedOptions[0].text")
        page.locator("#id_dwelling option").nth(1).wait_for(state="attached")
        page.get_by_label("房屋").select_option(index=1)
        room = page.get_by_label("房屋").evaluate("s => s.selectedOptions[0].text")
        page.get_by_label("或反映人姓名").fill("赵阿姨")
        page.get_by_label("联系电话").fill("13947755555")
        _fits(page)
        page.screenshot(path=SCREENSHOTS / "tickets-intake-360.png", full_page=True)
        page.get_by_role("button", name="登记", exact=True).click()
        page.wait_for_url(re.compile(r".*/tickets/MQ\d{8}-\d{4}/$"))
        number = page.get_by_test_id("number").inner_text().strip()
        assert page.get_by_text(f"已登记，编号 {number}。").is_visible()
        assert page.get_by_test_id("finish-due").inner_text().strip()
        assert "139****5555" in page.get_by_test_id("reporter").inner_text()
        place = page.get_by_test_id("place").inner_text()
        assert building in place and place.endswith(f"{room}室")
        _fits(page)
        context.close()

        # Staff accept it and dispatch it to the power company.
        context, page = _sign_in(chromium, live_app, "staff1")
        # Other tests file demands on this server too: the clerk looks the number up in the queue.
        page.goto(f"{live_app.url}/tickets/?tab=mine&q={number}")
        page.get_by_test_id("results").get_by_role("link", name=number).click()
        _step(page, "受理")
        _step(page, "派单", **{"派给承办单位": "民安供电公司"})
        assert page.get_by_test_id("status").inner_text() == "已派单"
        assert "民安供电公司" in page.get_by_test_id("owner").inner_text()
        context.close()

        # The company finds it in its queue, signs for it and finishes it.
        context, page = _sign_in(chromium, live_app, "dept1")
        page.get_by_role("link", name="诉求清单").click()
        page.goto(f"{live_app.url}/tickets/?tab=mine&q={number}")
        page.get_by_test_id("results").get_by_role("link", name=number).wait_for()
        _fits(page)
        page.screenshot(path=SCREENSHOTS / "tickets-queue-360.png", full_page=True)
        page.get_by_test_id("results").get_by_role("link", name=number).click()
        _step(page, "签收办理")
        _step(page, "办结", note="已更换2单元进户线开关，恢复供电")
        assert page.get_by_test_id("status").inner_text() == "已办结"
        context.close()

        # Staff close it (销号); the timeline holds every step, in order, with who took it.
        context, page = _sign_in(chromium, live_app, "staff1")
        page.goto(f"{live_app.url}/tickets/{number}/")
        _step(page, "销号")
        timeline = page.get_by_test_id("timeline")
        steps = [t.strip() for t in timeline.locator("li strong").all_inner_texts()]
        assert steps == ["登记", "受理", "派单", "签收办理", "办结", "销号"]
        text = timeline.inner_text()
        assert "李敏" in text and "王静" in text and "民安供电公司" in text
        assert "已更换2单元进户线开关，恢复供电" in text
        assert page.get_by_test_id("status").inner_text() == "已销号"
        _fits(page)
        page.screenshot(path=SCREENSHOTS / "tickets-detail-360.png", full_page=True)
        context.close()
        assert not problems, problems
    finally:
        if number:
            live_app.shell(TEARDOWN % {"number": number})
