"""A resident on a 360 px phone files a demand on the public portal with a photo, keeps the number,
follows it by number and the last four digits of the phone, and rates it after staff close it."""

import time

import pytest

from minqing.core.tests.test_browser import (
    PHONE,
    SCREENSHOTS,
    chromium,  # noqa: F401  (the shared browser fixture)
)
from minqing.tickets.tests.photo_files import phone_jpeg

pytestmark = pytest.mark.browser

MOBILE = "13947705678"

# The sum's answer, read where the server keeps it (the visitor's session in the database), as only
# the server side can: the page itself never holds it.
READ_ANSWER = """
from django.contrib.sessions.backends.db import SessionStore
print(SessionStore(session_key=%(session)r)["portal_challenges"][%(token)r]["answer"])
"""
STAFF_CLOSE = """
from minqing.accounts.models import User
from minqing.tickets import services
staff = User.objects.get(username="staff1")
for action, note in (("accept", ""), ("handle", "已联系物业疏通，恢复正常"), ("close", "")):
    services.ticket_act(actor=staff, number=%(number)r, action=action, note=note)
"""
STATE = """
from minqing.tickets.models import Ticket
t = Ticket.objects.get(number=%(number)r)
print("|".join([t.status, t.rating, t.channel, str(t.attachments.count())]))
"""
# The live server is shared by the session's browser tests: the demand goes again afterwards.
TEARDOWN = """
from minqing.tickets.models import Ticket, TicketAttachment, TicketEvent
t = Ticket.objects.filter(number=%(number)r).first()
if t is not None:
    TicketAttachment.objects.filter(ticket=t).delete()
    TicketEvent.objects.filter(ticket=t).delete()
    t.delete()
"""


def _state(live_app, number: str) -> str:
    return live_app.shell(STATE % {"number": number}).strip().splitlines()[-1]


def _fits(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]


def test_a_resident_files_follows_and_rates_on_a_phone(live_app, chromium):  # noqa: F811
    photo = phone_jpeg("IMG_2001.jpg")
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    number = ""
    try:
        page.goto(f"{live_app.url}/portal/")
        page.get_by_role("link", name="我要反映").click()
        page.wait_for_url(f"{live_app.url}/portal/new/")
        opened = time.monotonic()
        page.get_by_label("您的姓名").fill("刘女士")
        page.get_by_label("手机号码").fill(MOBILE)
        page.get_by_label("所在社区").select_option(label="嘉和社区")
        # The building list arrives for the chosen community (HTMX).
        building = page.get_by_label("小区楼栋")
        page.wait_for_function("document.querySelectorAll('#id_building option').length > 1")
        building.select_option(index=1)
        page.get_by_label("问题类别").select_option(label="下水堵塞")
        page.get_by_label("反映内容").fill("厨房下水道堵了三天，污水倒灌")
        page.get_by_label("照片").set_input_files(
            [{"name": photo.name, "mimeType": "image/jpeg", "buffer": photo.read()}]
        )
        assert page.get_by_test_id("challenge").evaluate("img => img.naturalWidth") > 0
        token = page.locator("input[name=token]").input_value()
        session = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
        answer = live_app.shell(READ_ANSWER % {"session": session, "token": token}).strip().splitlines()[-1]
        page.get_by_label("验证题").fill(answer)
        time.sleep(max(0.0, 3.5 - (time.monotonic() - opened)))  # a person takes longer than the minimum
        _fits(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "portal-file-360.png", full_page=True)
        page.get_by_role("button", name="提交").click()
        page.wait_for_url(f"{live_app.url}/portal/filed/")
        number = page.get_by_test_id("number").inner_text().strip()
        assert number.startswith("MQ") and "手机号后四位" in page.content()
        _fits(page)
        page.screenshot(path=SCREENSHOTS / "portal-filed-360.png", full_page=True)
        assert _state(live_app, number) == "registered||portal|1"

        # Later, on another visit: the number and the last four digits open it.
        context.clear_cookies()
        page.goto(f"{live_app.url}/portal/")
        page.get_by_role("link", name="查询进度").click()
        page.get_by_label("诉求编号").fill(number)
        page.get_by_label("手机号后四位").fill(MOBILE[-4:])
        page.get_by_role("button", name="查询").click()
        page.wait_for_url(f"{live_app.url}/portal/t/{number}/")
        assert page.get_by_test_id("status").inner_text() == "已登记"
        thumb = page.get_by_test_id("steps").get_by_role("img", name="照片")
        thumb.wait_for()
        page.wait_for_function("[...document.querySelectorAll('.portal-photos img')].every(i => i.complete)")
        assert thumb.evaluate("img => img.naturalWidth") > 0
        assert MOBILE not in page.content()
        _fits(page)

        live_app.shell(STAFF_CLOSE % {"number": number})
        page.reload()
        assert page.get_by_test_id("status").inner_text() == "已销号"
        assert "已联系物业疏通，恢复正常" in page.get_by_test_id("steps").inner_text()
        assert "王静" not in page.content()  # the staff member's name never reaches the resident
        page.get_by_label("基本满意").check()
        page.get_by_label("意见").fill("处理及时，谢谢")
        page.screenshot(path=SCREENSHOTS / "portal-rate-360.png", full_page=True)
        page.get_by_role("button", name="提交评价").click()
        page.get_by_text("感谢您的评价").wait_for()
        assert page.get_by_test_id("status").inner_text() == "已评价"
        _fits(page)
        assert _state(live_app, number) == "evaluated|basically_satisfied|portal|1"
        assert not problems, problems
    finally:
        context.close()
        if number:
            live_app.shell(TEARDOWN % {"number": number})
