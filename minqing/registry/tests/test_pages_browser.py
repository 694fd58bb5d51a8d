"""A liaison on a 360 px phone searches by pinyin initials and opens a household on the doorstep: the
members with masked ID numbers, the people responsible, and nothing wider than the screen."""

import re

import pytest

from minqing.core.tests.test_browser import (
    DEMO_PASSWORD,
    PHONE,
    SCREENSHOTS,
    chromium,  # noqa: F401  (the shared browser fixture)
)

pytestmark = pytest.mark.browser

# A household in one of liaison1's dwellings, registered by the grid worker through the services.
SETUP = """
from minqing.accounts.models import User
from minqing.registry import services
grid1 = User.objects.get(username="grid1")
dwelling = User.objects.get(username="liaison1").dwellings.order_by("pk").first()
head = services.resident_create(
    actor=grid1, data={"name": "祝建国", "id_number": "%(head)s", "phone": "13812345678"}, dwelling=dwelling
)
services.resident_create(
    actor=grid1, data={"name": "祝小红", "id_number": "%(child)s", "relation": "女"}, household=head.household
)
print(head.household_id)
"""
# Test data removed afterwards: the live server is shared by the session's browser tests.
TEARDOWN = """
from minqing.registry.models import Household, Resident, ResidentEvent, ResidentTag
people = Resident.objects.filter(household_id=%(household)s)
ResidentEvent.objects.filter(resident__in=people).delete()
ResidentTag.objects.filter(resident__in=people).delete()
people.delete()
Household.objects.filter(pk=%(household)s).delete()
"""


def _citizen_id(first17: str) -> str:
    from minqing.registry.idnumbers import check_character

    return first17 + check_character(first17)


def test_a_liaison_searches_and_opens_a_household_on_a_360px_screen(live_app, chromium):  # noqa: F811
    head_id, child_id = _citizen_id("15060319520314231"), _citizen_id("15060319850601242")
    household = int(live_app.shell(SETUP % {"head": head_id, "child": child_id}).strip().splitlines()[-1])
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(f"{live_app.url}/accounts/login/")
        page.get_by_label("用户名").fill("liaison1")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_app.url}/")

        page.get_by_role("link", name="居民档案").click()
        page.wait_for_url(re.compile(r".*/residents/$"))
        page.get_by_label("姓名 / 拼音 / 证件号 / 电话").fill("zjg")
        page.get_by_role("button", name="查询").click()
        results = page.get_by_test_id("results")
        results.get_by_role("link", name="祝建国").wait_for()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "registry-search-360.png", full_page=True)

        # From the result to the household: the address under the name opens the doorstep page.
        results.locator("li", has_text="祝建国").get_by_role("link").nth(1).click()
        page.wait_for_url(f"{live_app.url}/residents/households/{household}/")
        members = page.get_by_test_id("members")
        assert members.locator("li.person").count() == 2
        shown = members.get_by_test_id("id-masked").all_inner_texts()
        assert shown == [head_id[:4] + "*" * 10 + head_id[-4:], child_id[:4] + "*" * 10 + child_id[-4:]]
        assert head_id not in page.content() and child_id not in page.content()
        assert "138****5678" in members.inner_text() and "13812345678" not in page.content()
        assert "程强壮" in page.get_by_test_id("staff").inner_text()  # the liaison responsible
        assert page.get_by_text("查看完整号码").count() == 0  # a liaison holds no reveal permission
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=SCREENSHOTS / "registry-household-360.png", full_page=True)
        assert not problems, problems
    finally:
        context.close()
        live_app.shell(TEARDOWN % {"household": household})


def test_a_grid_worker_reveals_one_number_with_a_reason_on_a_phone(live_app, chromium):  # noqa: F811
    head_id, child_id = _citizen_id("15060319470808111"), _citizen_id("15060319800101122")
    household = int(live_app.shell(SETUP % {"head": head_id, "child": child_id}).strip().splitlines()[-1])
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{live_app.url}/accounts/login/")
        page.get_by_label("用户名").fill("grid1")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_app.url}/")
        page.goto(f"{live_app.url}/residents/households/{household}/")
        page.get_by_test_id("members").get_by_role("link", name="祝建国").click()
        page.wait_for_url(re.compile(r".*/residents/\d+/$"))
        assert head_id not in page.content()
        page.get_by_text("查看完整号码").click()
        # Without a reason the fragment comes back with the error next to the field, and no number.
        page.get_by_role("button", name="查看", exact=True).click()
        page.get_by_test_id("reveal").locator(".errorlist").wait_for()
        assert head_id not in page.content()
        page.get_by_label("查看原因").fill("核对高龄津贴")
        page.get_by_role("button", name="查看", exact=True).click()
        page.get_by_test_id("revealed").wait_for()
        assert head_id in page.get_by_test_id("revealed").inner_text()
        assert page.url.endswith("/")  # still the resident page: only the fragment changed
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "registry-resident-reveal-360.png", full_page=True)
    finally:
        context.close()
        live_app.shell(TEARDOWN % {"household": household})
    audit = live_app.shell(
        "from minqing.core.models import AuditEntry\n"
        "e = AuditEntry.objects.filter(action='resident.reveal').latest('pk')\n"
        "print(e.actor.username, e.data['reason'])\n"
    )
    assert audit.strip().splitlines()[-1] == "grid1 核对高龄津贴"
