"""A grid worker on a 360 px phone logs a routine visit from 今日走访 in a couple of taps, then logs
another in a stairwell without signal, with a photo: it waits on the phone (the photo too, through a
reload), shown as waiting, and reaches the server exactly once, photo included, when the connection
returns."""

import pytest

from minqing.core.tests.test_browser import (
    DEMO_PASSWORD,
    PHONE,
    chromium,  # noqa: F401  (the shared browser fixture)
)
from minqing.tickets.tests.photo_files import phone_jpeg

pytestmark = pytest.mark.browser

COUNT = """
from minqing.visits.models import Visit
print(Visit.objects.filter(household_id=%(household)s, worker__username="grid1").count())
"""
NOTE_COUNT = """
from minqing.visits.models import Visit
print(Visit.objects.filter(note=%(note)r).count(), sum(v.photos.count() for v in Visit.objects.filter(note=%(note)r)))
"""
MAX_TAPS = 2  # 记录走访 on the row, 保存


def _count(live_app, household: int) -> int:
    return int(live_app.shell(COUNT % {"household": household}).strip())


def test_a_routine_visit_in_two_taps_and_one_sent_after_the_network_returns(live_app, chromium):  # noqa: F811
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    taps = 0

    def tap(locator):
        nonlocal taps
        taps += 1
        locator.click()

    try:
        page.goto(f"{live_app.url}/accounts/login/")
        page.get_by_label("用户名").fill("grid1")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_app.url}/")

        page.goto(f"{live_app.url}/visits/today/")
        rows = page.locator("[data-testid=due] li[data-household]")
        assert rows.count() >= 2, "the demo gives grid1 households due today or overdue"
        first = int(rows.nth(0).get_attribute("data-household"))
        second = int(rows.nth(1).get_attribute("data-household"))
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        before = _count(live_app, first)

        # A routine visit: open it from the list, 保存 — purpose and time are already filled in.
        tap(rows.nth(0).get_by_role("link", name="记录走访"))
        page.wait_for_url("**/visits/new/**")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        tap(page.get_by_role("button", name="保存"))
        page.wait_for_url(f"**/residents/households/{first}/")
        assert taps <= MAX_TAPS
        assert _count(live_app, first) == before + 1
        assert page.get_by_test_id("visits").get_by_text("日常走访").count() >= 1

        # In the stairwell: no signal. The finding is written down and photographed.
        page.goto(f"{live_app.url}/visits/new/?household={second}")
        before = _count(live_app, second)
        context.set_offline(True)
        note = "楼道灯不亮，老人下楼不便（离线记录）"
        page.get_by_label("走访情况").fill(note)
        photo = phone_jpeg("楼道灯.jpg", size=(120, 90))
        page.get_by_label("照片").set_input_files(
            files=[{"name": photo.name, "mimeType": "image/jpeg", "buffer": photo.read()}]
        )
        page.get_by_role("button", name="保存").click()
        pending = page.get_by_test_id("pending")
        pending.wait_for(state="visible")
        assert pending.locator("li").count() == 1
        assert "1 张照片" in pending.locator("li").inner_text()
        assert _count(live_app, second) == before  # nothing reached the server

        # Still no signal for sending, but the page is reloaded (the phone's browser was closed and
        # reopened): the waiting visit and its photo are still on the phone.
        def no_signal_for_posts(route):
            if route.request.method == "POST":
                route.abort("internetdisconnected")
            else:
                route.continue_()

        page.route("**/visits/new/", no_signal_for_posts)
        context.set_offline(False)
        page.reload()
        pending.wait_for(state="visible")
        assert "1 张照片" in pending.locator("li").inner_text()
        page.wait_for_timeout(1000)
        assert _count(live_app, second) == before

        page.unroute("**/visits/new/", no_signal_for_posts)
        pending.wait_for(state="hidden", timeout=20_000)
        assert _count(live_app, second) == before + 1
        # Sent once: another round of retries (a reload re-runs the queue) adds nothing.
        page.reload()
        page.wait_for_timeout(1500)
        assert live_app.shell(NOTE_COUNT % {"note": note}).split() == ["1", "1"]  # one visit, its photo
        assert problems == []
    finally:
        context.close()
