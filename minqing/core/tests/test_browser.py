"""Each demo role signs in through the real form in Debian's chromium and lands on its home page:
greeting, role and area, exactly the navigation the role can use, and what waits for it; on a 360 px
phone and a 1280 px screen, with screenshots in test-artifacts/screenshots/ for a person to look at."""

import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
DEMO_PASSWORD = "Minqing@2025"
DEMO_NOTICE = "演示账号：已跳过二次验证"

ALWAYS = ["首页"]
PLACES = ["区域与网格", "小区与房屋"]
# Per role (DESIGN.md, accounts/roles.py): who the demo person is, the label under the greeting, and
# the navigation items it must show, in order (修改密码 and 退出登录 follow for everyone).
PEOPLE = ["居民档案", "诉求清单", "今日走访"]
ROLES = {
    "grid1": ("李敏", "网格员 · 嘉和社区第1网格", ALWAYS + PLACES + PEOPLE + ["统计", "用户管理"]),
    "liaison1": ("程强壮", "联户长 · 嘉和社区第1网格", ALWAYS + PLACES + PEOPLE),
    "staff1": ("王静", "社区工作者 · 嘉和社区", ALWAYS + PLACES + PEOPLE + ["导入台账", "统计", "用户管理"]),
    "admin1": (
        "赵书记",
        "社区书记/主任 · 嘉和社区",
        ALWAYS + PLACES + PEOPLE + ["导入台账", "统计", "标签", "用户管理", "审计日志"],
    ),
    "street1": ("刘主任", "街道综治中心 · 康新街道", ALWAYS + PLACES + PEOPLE + ["统计", "用户管理", "审计日志"]),
    "dept1": ("张电工", "职能部门 · 民安供电公司", ALWAYS + ["诉求清单", "用户管理"]),
    "district1": (
        "陈科长",
        "区级/12345中心 · 民安区",
        ALWAYS + PLACES + PEOPLE + ["统计", "标签", "用户管理", "审计日志", "接口密钥", "节假日"],
    ),
}
MFA_EXEMPT_DEMO = {"admin1", "district1"}


@pytest.fixture(scope="module")
def chromium():
    # Module scope: Playwright's event loop must be gone before tests that use the ORM in-process run.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _text(locator) -> str:
    return " ".join(locator.inner_text().split())


def _assert_fits(page, width: int, max_nav_rows: int) -> None:
    """Nothing wider than the screen; every navigation link on it, visible and big enough to tap; and
    the navigation laid out in a few rows, so the page itself starts on the first screen."""
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert inner_width == width
    assert scroll_width <= inner_width, f"sideways scrolling at {width}px: {scroll_width}"
    rows = set()
    for link in page.locator("nav.nav a, nav.nav button").all():
        assert link.is_visible(), link.inner_text()
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= inner_width, (link.inner_text(), box)
        assert box["height"] >= 44, (link.inner_text(), box)
        rows.add(round(box["y"]))
    assert len(rows) <= max_nav_rows, f"navigation in {len(rows)} rows at {width}px"
    greeting = page.locator("h1.greeting").bounding_box()
    assert greeting["y"] + greeting["height"] <= page.viewport_size["height"], "greeting below the first screen"


@pytest.mark.parametrize("username", list(ROLES))
def test_demo_role_home_page(live_app, chromium, username):
    display_name, scope_label, nav = ROLES[username]
    requests: list[str] = []
    problems: list[str] = []
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    context.on("request", lambda request: requests.append(request.url))
    context.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    context.on("requestfailed", lambda request: problems.append(f"failed {request.url}"))
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"script error {error}"))
    try:
        # A person opens the site, is sent to sign in, and comes back to the home page.
        page.goto(f"{live_app.url}/")
        assert urllib.parse.urlsplit(page.url).path == "/accounts/login/"
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_app.url}/")

        assert _text(page.locator("h1.greeting")) == f"{display_name}，您好"
        assert _text(page.get_by_test_id("scope")) == scope_label
        assert _text(page.locator("header .who")) == f"{display_name} · {scope_label.split(' · ')[0]}"
        assert [_text(a) for a in page.locator("nav.nav a").all()] == nav + ["修改密码"]
        assert page.locator("nav.nav").get_by_role("button", name="退出登录").is_visible()
        assert page.locator("nav.nav a[aria-current=page]").all_inner_texts() == ["首页"]

        notice = page.get_by_role("note")
        if username in MFA_EXEMPT_DEMO:
            assert DEMO_NOTICE in _text(notice)
        else:
            assert notice.count() == 0
            assert DEMO_NOTICE not in page.content()

        waiting = page.get_by_test_id("waiting")
        assert _text(waiting.locator("h2")) == "待办事项"
        stats = {
            li.get_attribute("data-key"): int(li.locator("strong").inner_text())
            for li in page.get_by_test_id("counts").locator("li").all()
        }
        grids_waiting = waiting.get_by_role("link").all_inner_texts()
        if username == "grid1":
            assert stats["grids"] == 1
            assert _text(waiting) == "待办事项 暂无待办。"
        if username == "liaison1":
            households = page.get_by_test_id("my-dwellings")
            assert _text(households.locator("h2")) == "我包联的 16 户"
            assert households.locator("li a").count() == 16
            assert stats["dwellings"] == 16 and "grids" not in stats
        if username in ("staff1", "admin1", "street1", "district1"):
            # The grid the demo leaves without a grid worker waits for someone to staff it.
            assert "嘉和社区第3网格" in grids_waiting and "尚未配备网格员" in _text(waiting)
        if username == "street1":
            communities = page.get_by_test_id("communities").locator("li a").all_inner_texts()
            assert {"康新街道 · 嘉和社区", "康新街道 · 兴安南路社区"} <= set(communities)
            assert not any("沙河街道" in c for c in communities)
        if username == "district1":
            communities = page.get_by_test_id("communities").locator("li a").all_inner_texts()
            assert {"康新街道 · 嘉和社区", "沙河街道 · 恒大社区", "沙河街道 · 安居苑社区"} <= set(communities)
            assert {"恒大社区第14网格", "恒大社区第15网格"} <= set(grids_waiting)
        if username == "dept1":
            assert page.get_by_test_id("counts").count() == 0
            assert "民安供电公司：暂无派发" in _text(waiting)

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for viewport, max_nav_rows in ((PHONE, 3), (DESKTOP, 1)):
            page.set_viewport_size(viewport)
            _assert_fits(page, viewport["width"], max_nav_rows)
            page.screenshot(path=SCREENSHOTS / f"{username}-{viewport['width']}.png", full_page=True)
    finally:
        context.close()

    # Everything the page needed came from the application itself: no CDN, no fonts from afar.
    outside = [u for u in requests if urllib.parse.urlsplit(u).hostname != "127.0.0.1" and not u.startswith("data:")]
    assert requests and not outside, outside
    assert not problems, problems


def test_sign_in_and_second_factor_enrolment_on_a_phone(live_app, chromium):
    """A new community admin (not a demo account) signs in on a phone: the enrolment page's QR code
    and secret fit the screen, a code from the authenticator app signs in."""
    import base64
    import uuid

    from django_otp.oath import totp

    username = f"b{uuid.uuid4().hex[:10]}"
    live_app.shell(
        "from minqing.accounts import services\n"
        "from minqing.accounts.models import User\n"
        "from minqing.areas.models import Area\n"
        "user = services.user_create(actor=User.objects.get(username='district1'),"
        f" username='{username}', display_name='新书记', role='community_admin', password='{DEMO_PASSWORD}',"
        " area=Area.objects.get(code='150603001001'))\n"
        "User.objects.filter(pk=user.pk).update(must_change_password=False)\n"
    )
    requests: list[str] = []
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    try:
        page.goto(f"{live_app.url}/accounts/login/")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "login-360.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_app.url}/accounts/otp/")

        qr = page.locator(".qr svg").bounding_box()
        assert qr["x"] >= 0 and qr["x"] + qr["width"] <= PHONE["width"] and qr["width"] >= 150
        secret = page.locator("#otp-secret").inner_text().replace(" ", "")
        assert page.get_by_role("link", name="添加到验证器").get_attribute("href").startswith("otpauth://totp/")
        assert page.locator("#otp-secret").is_visible()
        page.screenshot(path=SCREENSHOTS / "otp-enrol-360.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        page.get_by_label("动态验证码").fill(f"{totp(base64.b32decode(secret)):06d}")
        page.get_by_role("button", name="验证").click()
        page.wait_for_url(f"{live_app.url}/")
        assert " ".join(page.locator("h1.greeting").inner_text().split()) == "新书记，您好"
        assert page.get_by_role("note").count() == 0  # no demo notice: this account passed the second factor
    finally:
        context.close()
    assert requests and all(urllib.parse.urlsplit(u).hostname == "127.0.0.1" for u in requests)
