"""The sign-in rules (等保 level 3 practice, OWASP ASVS level 2) proven over real HTTP against a running
server (the `live_app` fixture): password rules, lockout, idle and absolute session limits, disabling, the
second factor and the audit trail. Time passing is simulated by moving stored times back through the
server's shell; every test makes its own accounts, so the order of tests does not matter."""

import base64
import json
import re
import textwrap
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookiejar import CookieJar

import pytest
from django_otp.oath import totp

PASSWORD = "Qingshui#2025"
JIAHE = "150603001001"
JIAHE_GRID1 = f"{JIAHE}-G01"
DISTRICT = "150603"
LOCKED = "锁定"
WRONG = "用户名或密码错误"


# An HTTP client with a cookie jar, the way a browser without JavaScript talks to the site ----------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # redirects are followed by WebClient, which records them


@dataclass
class Reply:
    status: int
    url: str
    text: str
    headers: dict
    redirects: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    @property
    def query(self) -> dict:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.url).query))

    def json(self):
        return json.loads(self.text)


class WebClient:
    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    @property
    def session_key(self) -> str:
        key = self.cookie("sessionid")
        assert key, "no session cookie"
        return key

    def _send(self, method: str, url: str, body: bytes | None, headers: dict) -> Reply:
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            text = response.read().decode("utf-8", "replace")
            return Reply(response.status, url, text, dict(response.headers.items()))

    def request(self, method: str, path: str, *, body=None, headers=None, follow=True) -> Reply:
        reply = self._send(method, urllib.parse.urljoin(self.base, path), body, headers or {})
        redirects = []
        while follow and reply.status in (301, 302, 303) and len(redirects) < 10:
            redirects.append(reply.url)
            reply = self._send("GET", urllib.parse.urljoin(reply.url, reply.headers["Location"]), None, {})
        reply.redirects = redirects
        return reply

    def get(self, path: str, *, follow=True) -> Reply:
        return self.request("GET", path, follow=follow)

    def post_form(self, path: str, fields: dict, *, page: Reply | None = None, follow=True) -> Reply:
        """Post a form the way a browser does: the CSRF token from the page's form, and a Referer."""
        page = page or self.get(path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, f"no CSRF token on {page.url}"
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1), **fields}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": page.url}
        return self.request("POST", path, body=body, headers=headers, follow=follow)

    def post_json(self, path: str, payload: dict) -> Reply:
        body = json.dumps(payload).encode()
        return self.request("POST", path, body=body, headers={"Content-Type": "application/json"}, follow=False)

    def sign_in(self, username: str, password: str) -> Reply:
        return self.post_form("/accounts/login/", {"username": username, "password": password})

    def sign_out(self) -> Reply:
        home = self.get("/")
        return self.post_form("/accounts/logout/", {}, page=home)


# The server's side, through its Django shell ----------------------------------------------------


class App:
    """The live server and the Django shell on its database (live_app.shell: one long-lived process)."""

    def __init__(self, live_app):
        self.url = live_app.url
        self.live_app = live_app

    def run(self, code: str):
        """Run Python on the server's database; the code prints one JSON line, which comes back."""
        return json.loads(self.live_app.shell(textwrap.dedent(code)).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def app(live_app):
    return App(live_app)


def new_user(app, *, role="grid_worker", area=JIAHE_GRID1, temporary=False) -> dict:
    """An account created the way a district admin creates one (accounts.services.user_create).
    Unless `temporary`, its password is already its own (no forced change at the first sign-in)."""
    username = f"t{uuid.uuid4().hex[:10]}"
    return app.run(
        f"""
        import json
        from minqing.accounts import services
        from minqing.accounts.models import User
        from minqing.areas.models import Area
        user = services.user_create(
            actor=User.objects.get(username="district1"), username="{username}", display_name="测试{role}",
            role="{role}", password="{PASSWORD}", area=Area.objects.get(code="{area}"),
        )
        if not {temporary}:
            User.objects.filter(pk=user.pk).update(must_change_password=False)
        print(json.dumps({{"pk": user.pk, "username": user.username}}))
        """,
    )


def audit_of(app, user: dict) -> list[dict]:
    """The audit entries about a user, oldest first."""
    return app.run(
        f"""
        import json
        from minqing.core.models import AuditEntry
        rows = AuditEntry.objects.filter(target_type="accounts.user", target_id="{user["pk"]}").order_by("id")
        print(json.dumps([{{"action": r.action, "data": r.data, "ip": r.ip, "actor": r.actor_name}} for r in rows]))
        """,
    )


def auth_actions(app, user: dict) -> list[str]:
    return [e["action"] for e in audit_of(app, user) if e["action"].startswith("auth.")]


def set_locked_until(app, user: dict, minutes_from_now: float) -> None:
    app.run(
        f"""
        import json
        from datetime import timedelta
        from django.utils import timezone
        from minqing.accounts.models import User
        User.objects.filter(pk={user["pk"]}).update(locked_until=timezone.now() + timedelta(minutes={minutes_from_now}))
        print(json.dumps(None))
        """,
    )


def insert_old_failures(app, user: dict, *, count: int, minutes_ago: float) -> None:
    """Failed attempts made in the past. AuditEntry.at is set on insert and the table refuses UPDATE,
    so old entries can only be written with their time, in raw SQL."""
    app.run(
        f"""
        import json
        from datetime import timedelta
        from django.db import connection
        from django.utils import timezone
        at = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(minutes={minutes_ago}))
        with connection.cursor() as cursor:
            for _ in range({count}):
                cursor.execute(
                    "INSERT INTO core_auditentry (at, actor_name, action, target_type, target_id, target_label,"
                    " area_path, user_agent, data) VALUES (%s, %s, 'auth.login_failed', 'accounts.user', %s, %s,"
                    " '', '', '{{}}')",
                    [at, "{user["username"]}", "{user["pk"]}", "{user["username"]}"],
                )
        print(json.dumps(None))
        """,
    )


def session_seconds_left(app, session_key: str) -> float | None:
    return app.run(
        f"""
        import json
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        s = Session.objects.filter(pk="{session_key}").first()
        print(json.dumps(None if s is None else (s.expire_date - timezone.now()).total_seconds()))
        """,
    )


def set_session_expiry(app, session_key: str, seconds_from_now: float) -> None:
    app.run(
        f"""
        import json
        from datetime import timedelta
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        n = Session.objects.filter(pk="{session_key}").update(
            expire_date=timezone.now() + timedelta(seconds={seconds_from_now})
        )
        print(json.dumps(n))
        """,
    )


def set_signed_in_ago(app, session_key: str, seconds_ago: float) -> None:
    app.run(
        f"""
        import json
        from django.contrib.sessions.backends.db import SessionStore
        from django.utils import timezone
        from minqing.accounts.middleware import SIGNED_IN_AT
        session = SessionStore(session_key="{session_key}")
        assert session.get("_auth_user_id"), "not a signed-in session"
        session[SIGNED_IN_AT] = timezone.now().timestamp() - {seconds_ago}
        session.save()
        print(json.dumps(None))
        """,
    )


def signed_in_home(client: WebClient, user: dict) -> Reply:
    home = client.get("/")
    assert home.status == 200 and home.path == "/", home.url
    assert "测试" in home.text and 'action="/accounts/logout/"' in home.text
    return home


def errors(reply: Reply) -> str:
    """What the page says went wrong: the form's error lists and the status notes."""
    found = re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>|<p class="flash[^"]*"[^>]*>(.*?)</p>', reply.text, re.S
    )
    return " ".join(re.sub(r"<[^>]+>", " ", a or b).strip() for a, b in found)


def on_login_page(reply: Reply) -> bool:
    return reply.status == 200 and reply.path == "/accounts/login/" and 'name="password"' in reply.text


# Passwords -------------------------------------------------------------------------------------

WEAK_PASSWORDS = [
    # (password, the rule the message must name): each breaks exactly one rule.
    ("Ab1!xyz", "8 个字符"),
    ("minqingabc2025", "至少 3 类"),
    ("Password1", "常见"),
]


def test_user_create_refuses_weak_passwords_naming_the_rule(app):
    results = app.run(
        f"""
        import json
        from minqing.accounts import services
        from minqing.accounts.models import User
        from minqing.areas.models import Area
        from minqing.core.errors import ApplicationError
        out = []
        for password in {[p for p, _ in WEAK_PASSWORDS]!r}:
            name = "weak" + str(len(out)) + "{uuid.uuid4().hex[:6]}"
            try:
                services.user_create(
                    actor=User.objects.get(username="admin1"), username=name, display_name="弱密码",
                    role="grid_worker", password=password, area=Area.objects.get(code="{JIAHE_GRID1}"),
                )
            except ApplicationError as exc:
                out.append({{"field": exc.field, "message": str(exc.message)}})
            else:
                out.append({{"field": None, "message": "created"}})
            out[-1]["exists"] = User.objects.filter(username=name).exists()
        print(json.dumps(out))
        """,
    )
    for (password, rule), result in zip(WEAK_PASSWORDS, results, strict=True):
        assert result["field"] == "password", (password, result)
        assert rule in result["message"], (password, result)
        assert not result["exists"], password


def test_password_change_page_enforces_the_rules(app):
    user = new_user(app, temporary=True)
    client = WebClient(app.url)
    page = client.sign_in(user["username"], PASSWORD)
    # A temporary password set by an admin must be replaced before anything else.
    assert page.path == "/accounts/password/" and "临时密码" in page.text
    assert client.get("/").path == "/accounts/password/"

    for password, rule in WEAK_PASSWORDS:
        reply = client.post_form(
            "/accounts/password/", {"old_password": PASSWORD, "new_password": password, "new_password2": password}
        )
        assert reply.status == 200 and reply.path == "/accounts/password/", password
        assert rule in errors(reply), (password, rule, errors(reply))
    mismatch = client.post_form(
        "/accounts/password/", {"old_password": PASSWORD, "new_password": "Xinmima#2026", "new_password2": "Other#2026"}
    )
    assert "两次输入的新密码不一致" in errors(mismatch)

    # The refused passwords were not set: the old one still signs in.
    other = WebClient(app.url)
    assert other.sign_in(user["username"], PASSWORD).path == "/accounts/password/"

    done = client.post_form(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": "Xinmima#2026", "new_password2": "Xinmima#2026"},
    )
    assert done.path == "/" and "密码已修改" in errors(done)
    assert "auth.password_changed" in auth_actions(app, user)
    fresh = WebClient(app.url)
    assert fresh.sign_in(user["username"], "Xinmima#2026").path == "/"
    assert on_login_page(WebClient(app.url).sign_in(user["username"], PASSWORD))


# Lockout ---------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_for_fifteen_minutes(app):
    user = new_user(app)
    client = WebClient(app.url)
    for attempt in range(1, 5):
        reply = client.sign_in(user["username"], "Wrong#pass1")
        assert on_login_page(reply) and WRONG in errors(reply) and LOCKED not in errors(reply), attempt
    fifth = client.sign_in(user["username"], "Wrong#pass1")
    assert on_login_page(fifth) and LOCKED in errors(fifth)

    # The sixth attempt, with the right password, is still refused.
    sixth = client.sign_in(user["username"], PASSWORD)
    assert on_login_page(sixth) and LOCKED in errors(sixth)
    assert client.get("/").path == "/accounts/login/"

    entries = [e for e in audit_of(app, user) if e["action"].startswith("auth.")]
    assert [e["action"] for e in entries] == ["auth.login_failed"] * 5 + ["auth.locked", "auth.login_blocked"]
    assert all(e["ip"] == "127.0.0.1" and e["data"]["channel"] == "web" for e in entries)
    locked_for = app.run(
        f"""
        import json
        from django.utils import timezone
        from minqing.accounts.models import User
        print(json.dumps((User.objects.get(pk={user["pk"]}).locked_until - timezone.now()).total_seconds()))
        """,
    )
    assert 14 * 60 < locked_for <= 15 * 60

    # Fifteen minutes later (the lock moved into the past) the count starts again: one typo is not
    # five (the login page promises a lock after 5 wrong passwords in a row), and the right password works.
    set_locked_until(app, user, -1)
    typo = client.sign_in(user["username"], "Wrong#pass1")
    assert WRONG in errors(typo) and LOCKED not in errors(typo)
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    signed_in_home(client, user)
    assert auth_actions(app, user)[-1] == "auth.login"


def test_failures_older_than_thirty_minutes_do_not_count(app):
    user = new_user(app)
    insert_old_failures(app, user, count=5, minutes_ago=31)
    client = WebClient(app.url)
    for _ in range(4):
        assert LOCKED not in errors(client.sign_in(user["username"], "Wrong#pass1"))
    # Four recent failures plus five old ones: not locked.
    assert client.sign_in(user["username"], PASSWORD).path == "/"


def test_failures_within_thirty_minutes_count(app):
    user = new_user(app)
    insert_old_failures(app, user, count=4, minutes_ago=29)
    client = WebClient(app.url)
    reply = client.sign_in(user["username"], "Wrong#pass1")
    assert LOCKED in errors(reply)
    assert LOCKED in errors(client.sign_in(user["username"], PASSWORD))


def test_admin_unlock_lets_the_user_in_at_once(app):
    user = new_user(app)
    client = WebClient(app.url)
    for _ in range(5):
        client.sign_in(user["username"], "Wrong#pass1")
    assert LOCKED in errors(client.sign_in(user["username"], PASSWORD))
    app.run(
        f"""
        import json
        from minqing.accounts import services
        from minqing.accounts.models import User
        services.user_unlock(actor=User.objects.get(username="admin1"), user=User.objects.get(pk={user["pk"]}))
        print(json.dumps(None))
        """,
    )
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    unlock = [e for e in audit_of(app, user) if e["action"] == "auth.unlocked"]
    assert len(unlock) == 1 and unlock[0]["actor"] == "admin1"


def test_a_wrong_name_gives_the_same_answer_as_a_wrong_password(app):
    client = WebClient(app.url)
    unknown = client.sign_in(f"nobody{uuid.uuid4().hex[:6]}", "Wrong#pass1")
    user = new_user(app)
    wrong = client.sign_in(user["username"], "Wrong#pass1")
    assert on_login_page(unknown) and on_login_page(wrong)
    assert errors(unknown) == errors(wrong) == "用户名或密码错误。"


def test_api_token_sign_in_has_the_same_lockout(app):
    user = new_user(app)
    api = WebClient(app.url)
    first = api.post_json("/api/v1/auth/token", {"username": user["username"], "password": "Wrong#pass1"})
    if first.status in (404, 405):
        pytest.skip("POST /api/v1/auth/token is not there yet")
    assert first.status == 401 and first.json()["field"] == "password", first.text
    for _ in range(4):
        last = api.post_json("/api/v1/auth/token", {"username": user["username"], "password": "Wrong#pass1"})
    assert last.status == 401 and LOCKED in last.json()["message"]
    right = api.post_json("/api/v1/auth/token", {"username": user["username"], "password": PASSWORD})
    assert right.status == 401 and LOCKED in right.json()["message"] and "token" not in right.json()
    # One lock, whichever door was knocked on.
    assert LOCKED in errors(WebClient(app.url).sign_in(user["username"], PASSWORD))
    entries = [e for e in audit_of(app, user) if e["action"].startswith("auth.")]
    assert [e["action"] for e in entries][:7] == ["auth.login_failed"] * 5 + ["auth.locked", "auth.login_blocked"]
    assert all(e["data"].get("channel") == "api" for e in entries[:7])

    set_locked_until(app, user, -1)
    ok = api.post_json("/api/v1/auth/token", {"username": user["username"], "password": PASSWORD})
    assert ok.status == 200 and ok.json()["token"]


# Sessions --------------------------------------------------------------------------------------


def test_each_request_pushes_the_idle_limit_thirty_minutes_ahead(app):
    user = new_user(app)
    client = WebClient(app.url)
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    key = client.session_key
    assert 29 * 60 < session_seconds_left(app, key) <= 30 * 60

    set_session_expiry(app, key, 5 * 60)  # 25 minutes without a request
    signed_in_home(client, user)
    assert 29 * 60 < session_seconds_left(app, key) <= 30 * 60


def test_an_idle_session_ends_after_thirty_minutes(app):
    user = new_user(app)
    client = WebClient(app.url)
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    key = client.session_key
    set_session_expiry(app, key, -1)  # 30 minutes without a request
    reply = client.get("/")
    assert on_login_page(reply) and reply.query == {"next": "/"}
    assert session_seconds_left(app, key) is None or session_seconds_left(app, key) < 0


def test_any_session_ends_twelve_hours_after_sign_in(app):
    user = new_user(app)
    client = WebClient(app.url)
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    key = client.session_key

    set_signed_in_ago(app, key, 11 * 3600 + 59 * 60)  # active all day, not yet 12 hours
    signed_in_home(client, user)

    set_signed_in_ago(app, key, 12 * 3600 + 60)
    reply = client.get("/")
    assert on_login_page(reply) and "会话已过期" in errors(reply)
    assert session_seconds_left(app, key) is None  # the session is gone, not just redirected once
    assert on_login_page(client.get("/"))
    last = [e for e in audit_of(app, user) if e["action"] == "auth.logout"]
    assert [e["data"]["reason"] for e in last] == ["absolute_timeout"]


def test_disabling_an_account_ends_its_sessions_at_once(app):
    user = new_user(app)
    client = WebClient(app.url)
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    signed_in_home(client, user)
    app.run(
        f"""
        import json
        from minqing.accounts import services
        from minqing.accounts.models import User
        services.user_set_active(
            actor=User.objects.get(username="admin1"), user=User.objects.get(pk={user["pk"]}), active=False
        )
        print(json.dumps(None))
        """,
    )
    assert on_login_page(client.get("/"))
    assert on_login_page(WebClient(app.url).sign_in(user["username"], PASSWORD))
    assert "user.disable" in [e["action"] for e in audit_of(app, user)]


def test_sign_in_sign_out_and_failure_are_audited(app):
    user = new_user(app)
    client = WebClient(app.url)
    assert WRONG in errors(client.sign_in(user["username"], "Wrong#pass1"))
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    signed_out = client.sign_out()
    assert on_login_page(signed_out)
    assert on_login_page(client.get("/"))
    entries = [e for e in audit_of(app, user) if e["action"].startswith("auth.")]
    assert [e["action"] for e in entries] == ["auth.login_failed", "auth.login", "auth.logout"]
    assert entries[2]["data"]["reason"] == "user"
    assert all(e["ip"] == "127.0.0.1" for e in entries)


# Second factor ---------------------------------------------------------------------------------


def _secret(page: Reply) -> str:
    """The secret as shown for typing by hand (in groups of four)."""
    shown = re.search(r'<code id="otp-secret"[^>]*>([A-Z2-7 ]+)</code>', page.text).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", shown), shown
    return shown.replace(" ", "")


def _code(secret: str, drift: int = 0) -> str:
    return f"{totp(base64.b32decode(secret), drift=drift):06d}"


@pytest.mark.parametrize("role, area", [("community_admin", JIAHE), ("district_staff", DISTRICT)])
def test_admin_roles_need_a_second_factor(app, role, area):
    user = new_user(app, role=role, area=area)
    client = WebClient(app.url)

    # Password alone: sent to enrol an authenticator app, and nothing else is reachable.
    enrol = client.sign_in(user["username"], PASSWORD)
    assert enrol.path == "/accounts/otp/"
    assert "<svg" in enrol.text  # the QR code
    assert re.search(r'href="otpauth://totp/[^"]+secret=[A-Z2-7]{32}', enrol.text)  # opens the app on a phone
    secret = _secret(enrol)
    for path in ("/", "/areas/", "/accounts/users/"):
        assert client.get(path).path == "/accounts/login/", path

    # Coming back to the page (a phone reloads it after a visit to the authenticator app) keeps the
    # secret just scanned.
    enrol = client.get("/accounts/otp/")
    assert _secret(enrol) == secret
    # Another sign-in gets another secret, which voids this one: its code is refused and the page
    # offers a fresh secret.
    other_secret = _secret(WebClient(app.url).sign_in(user["username"], PASSWORD))
    assert other_secret != secret
    refused = client.post_form("/accounts/otp/", {"otp": _code(secret)}, page=enrol)
    assert refused.path == "/accounts/otp/" and "动态验证码错误" in errors(refused)
    secret = _secret(refused)
    assert secret not in (other_secret, _secret(enrol))

    valid = {_code(secret, d) for d in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    refused = client.post_form("/accounts/otp/", {"otp": wrong}, page=refused)
    assert refused.path == "/accounts/otp/" and "动态验证码错误" in errors(refused)
    assert _secret(refused) == secret
    assert client.get("/").path == "/accounts/login/"

    done = client.post_form("/accounts/otp/", {"otp": _code(secret)}, page=refused)
    assert done.path == "/" and done.status == 200
    assert "演示账号" not in done.text  # the demo notice is for the exempt demo accounts only
    assert client.sign_out().path == "/accounts/login/"

    # The next sign-in asks for a code (no QR code this time); the password alone gets nothing.
    again = WebClient(app.url)
    ask = again.sign_in(user["username"], PASSWORD)
    assert ask.path == "/accounts/otp/" and "<svg" not in ask.text and "otp-secret" not in ask.text
    assert again.get("/").path == "/accounts/login/"
    ask = again.get("/accounts/otp/")
    # The code just used may not be replayed; the next time step's code is accepted.
    ok = again.post_form("/accounts/otp/", {"otp": _code(secret, drift=1)}, page=ask)
    assert ok.path == "/" and ok.status == 200
    actions = auth_actions(app, user)
    assert actions.count("auth.login") == 2 and "auth.otp_enrolled" in actions


def test_a_session_that_passed_only_the_password_gets_nothing(app):
    """A grid worker signed in without a second factor becomes a community admin: the open session
    has not passed the second factor, so its next request ends it."""
    user = new_user(app)
    client = WebClient(app.url)
    assert client.sign_in(user["username"], PASSWORD).path == "/"
    app.run(
        f"""
        import json
        from minqing.accounts import services
        from minqing.accounts.models import User
        from minqing.areas.models import Area
        services.user_update(
            actor=User.objects.get(username="district1"), user=User.objects.get(pk={user["pk"]}),
            display_name="测试升任", role="community_admin", area=Area.objects.get(code="{JIAHE}"),
        )
        print(json.dumps(None))
        """,
    )
    assert client.get("/").path == "/accounts/login/"
    assert client.get("/").path == "/accounts/login/"


@pytest.mark.parametrize("username", ["admin1", "district1"])
def test_demo_admin_accounts_skip_the_second_factor_and_every_page_says_so(app, username):
    client = WebClient(app.url)
    home = client.sign_in(username, "Minqing@2025")
    assert home.path == "/" and home.redirects[-1].endswith("/accounts/login/")
    notice = "演示账号：已跳过二次验证"
    pages = [home, client.get("/accounts/password/")]
    for link in re.findall(r'<nav class="nav"[^>]*>(.*?)</nav>', home.text, re.S)[0].split("<a ")[1:]:
        pages.append(client.get(re.search(r'href="([^"]+)"', link).group(1)))
    rendered = [p for p in pages if "<html" in p.text]
    assert len(rendered) >= 2
    for page in rendered:
        assert page.status == 200 and notice in page.text, page.url


# The audit log is append-only in the database --------------------------------------------------


def test_audit_log_refuses_update_and_delete_in_the_database(app):
    import os

    user = new_user(app)
    WebClient(app.url).sign_in(user["username"], "Wrong#pass1")
    result = app.run(
        f"""
        import json
        from datetime import timedelta
        from django.db import connection, transaction
        from django.utils import timezone
        from minqing.core.models import AuditEntry

        entry = AuditEntry.objects.filter(target_id="{user["pk"]}", action="auth.login_failed").get()

        def attempt(fn):
            try:
                with transaction.atomic():
                    fn()
            except Exception as exc:
                return str(exc)
            return "allowed"

        def sql(statement, *params):
            with connection.cursor() as cursor:
                cursor.execute(statement, params)

        def old(days):
            at = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=days))
            sql("INSERT INTO core_auditentry (at, actor_name, action, target_type, target_id, target_label,"
                " area_path, user_agent, data) VALUES (%s, 'x', 'test.old', '', '', '', '', '', '{{}}')", at)
            return AuditEntry.objects.filter(action="test.old").order_by("-id").values_list("pk", flat=True)[0]

        out = {{
            "vendor": connection.vendor,
            "orm_update": attempt(lambda: AuditEntry.objects.filter(pk=entry.pk).update(action="auth.login")),
            "orm_delete": attempt(lambda: AuditEntry.objects.filter(pk=entry.pk).delete()),
            "sql_update": attempt(lambda: sql("UPDATE core_auditentry SET actor_name = 'x' WHERE id = %s", entry.pk)),
            "sql_delete": attempt(lambda: sql("DELETE FROM core_auditentry WHERE id = %s", entry.pk)),
        }}
        out["after"] = list(AuditEntry.objects.filter(pk=entry.pk).values_list("action", "actor_name").get())
        young, aged = old(179), old(181)
        out["delete_179_days"] = attempt(lambda: sql("DELETE FROM core_auditentry WHERE id = %s", young))
        out["update_181_days"] = attempt(lambda: sql("UPDATE core_auditentry SET actor_name = 'y' WHERE id = %s", aged))
        out["delete_181_days"] = attempt(lambda: sql("DELETE FROM core_auditentry WHERE id = %s", aged))
        print(json.dumps(out))
        """,
    )
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert result["vendor"] == expected
    for key in ("orm_update", "sql_update", "update_181_days"):
        assert "append-only" in result[key], (key, result[key])
    for key in ("orm_delete", "sql_delete", "delete_179_days"):
        assert "kept 180 days" in result[key], (key, result[key])
    assert result["after"] == ["auth.login_failed", user["username"]]
    # Entries past the retention period may be pruned.
    assert result["delete_181_days"] == "allowed"
