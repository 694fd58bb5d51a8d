"""Tokens over HTTP: POST /api/v1/auth/token keeps the sign-in page's rules (wrong password, lockout,
second factor, audit), integration keys carry a scope, and disabling an account or revoking a key
ends its access at once. Each test makes its own accounts in the server's database."""

import uuid
from datetime import UTC, datetime, timedelta

from django_otp.oath import totp

from minqing.api.tests.support import scope_oracle, shell_json

PASSWORD = "Jiekou#Ceshi2031"
DISTRICT_GRID = "150603002002-G01"  # 安居苑社区第1网格
JIAHE = "150603001001"
NOT_AUTHENTICATED = "not_authenticated"


def _new_user(live_app, *, role: str, area_code: str) -> str:
    username = f"api-{role[:5]}-{uuid.uuid4().hex[:6]}"
    shell_json(
        live_app,
        f"""
        from minqing.accounts.models import User
        from minqing.accounts.services import user_change_password, user_create
        from minqing.areas.models import Area
        user = user_create(
            actor=User.objects.get(username="district1"), username={username!r}, display_name="接口测试",
            role={role!r}, password="Temp#orary2026", area=Area.objects.get(code={area_code!r}),
        )
        # The new user replaces the temporary password, as the first sign-in makes them do.
        user_change_password(user=user, old_password="Temp#orary2026", new_password={PASSWORD!r})
        emit(user.pk)
        """,
    )
    return username


def _audit_actions(live_app, username: str) -> list[list]:
    return shell_json(
        live_app,
        f"""
        from minqing.core.models import AuditEntry
        emit([[e.action, e.data.get("channel")] for e in
              AuditEntry.objects.filter(actor_name={username!r}).order_by("at", "pk")])
        """,
    )


def test_token_sign_in_then_bearer_requests(api):
    reply = api.sign_in("grid1")
    assert reply.status == 200, reply.text
    body = reply.json()
    assert set(body) == {"token", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12, minutes=1)
    me = api.get("/api/v1/me", body["token"])
    assert me.status == 200
    assert me.json()["username"] == "grid1"
    assert me.json()["area"]["name"] == "嘉和社区第1网格"


def test_wrong_password_is_401_naming_the_password_field(api, live_app):
    username = _new_user(live_app, role="grid_worker", area_code=DISTRICT_GRID)
    wrong = api.sign_in(username, "Not-the-password1")
    assert wrong.status == 401
    assert wrong.content_type.startswith("application/json")
    assert wrong.json() == {"code": "authentication_failed", "message": "用户名或密码错误。", "field": "password"}
    # An unknown name gets the very same answer: the API does not tell which accounts exist.
    unknown = api.sign_in(f"nobody-{uuid.uuid4().hex[:6]}", "Not-the-password1")
    assert (unknown.status, unknown.json()) == (wrong.status, wrong.json())
    assert api.sign_in(username, PASSWORD).status == 200
    assert _audit_actions(live_app, username) == [
        ["auth.password_changed", None],
        ["auth.login_failed", "api"],
        ["auth.login", "api"],
    ]


def test_five_failures_lock_the_account_for_the_api_too(api, live_app):
    username = _new_user(live_app, role="grid_worker", area_code=DISTRICT_GRID)
    codes = [api.sign_in(username, "Not-the-password1").json()["code"] for _ in range(5)]
    assert codes == ["authentication_failed"] * 4 + ["account_locked"]
    locked = api.sign_in(username, PASSWORD)
    assert locked.status == 401
    assert locked.json()["code"] == "account_locked"
    assert "锁定" in locked.json()["message"]
    assert [a for a, _ in _audit_actions(live_app, username)][-2:] == ["auth.locked", "auth.login_blocked"]


def test_second_factor_required_for_admin_roles(api, live_app):
    username = _new_user(live_app, role="community_admin", area_code=JIAHE)
    without_device = api.sign_in(username, PASSWORD)
    assert without_device.status == 401
    assert without_device.json()["code"] == "otp_required"
    assert without_device.json()["field"] == "otp"
    key = shell_json(
        live_app,
        f"""
        from django_otp.plugins.otp_totp.models import TOTPDevice
        from minqing.accounts.models import User
        device = TOTPDevice.objects.create(user=User.objects.get(username={username!r}), name="default", confirmed=True)
        emit(device.key)
        """,
    )
    missing = api.sign_in(username, PASSWORD)
    assert (missing.status, missing.json()["field"]) == (401, "otp")
    right = api.sign_in(username, PASSWORD, otp=f"{totp(bytes.fromhex(key)):06d}")
    assert right.status == 200, right.text
    assert api.get("/api/v1/me", right.json()["token"]).json()["role"] == "community_admin"
    # Last: a wrong code makes django-otp hold the device back for a moment.
    wrong = api.sign_in(username, PASSWORD, otp=f"{(totp(bytes.fromhex(key)) + 1) % 10**6:06d}")
    assert (wrong.status, wrong.json()["code"], wrong.json()["field"]) == (401, "otp_required", "otp")


def test_disabled_users_token_stops_working_at_once(api, live_app):
    username = _new_user(live_app, role="grid_worker", area_code=DISTRICT_GRID)
    token = api.sign_in(username, PASSWORD).json()["token"]
    assert api.get("/api/v1/dwellings?limit=1", token).status == 200
    shell_json(
        live_app,
        f"""
        from minqing.accounts.models import User
        from minqing.accounts.services import user_set_active
        user_set_active(actor=User.objects.get(username="district1"),
                        user=User.objects.get(username={username!r}), active=False)
        emit(True)
        """,
    )
    for path in ("/api/v1/me", "/api/v1/dwellings?limit=1"):
        reply = api.get(path, token)
        assert reply.status == 401
        assert reply.json()["code"] == NOT_AUTHENTICATED
    # Nor can it get a fresh one.
    assert api.sign_in(username, PASSWORD).status == 401


def test_integration_key_works_within_its_scope_until_revoked(api, live_app):
    issued = shell_json(
        live_app,
        f"""
        from minqing.accounts.models import User
        from minqing.accounts.services import integration_key_issue
        from minqing.areas.models import Area
        token, key = integration_key_issue(
            actor=User.objects.get(username="district1"), name="嘉和社区接口测试",
            role="community_staff", area=Area.objects.get(code={JIAHE!r}),
        )
        emit({{"key": key, "username": token.user.username, "token": token.pk}})
        """,
    )
    key = issued["key"]
    me = api.get("/api/v1/me", key).json()
    assert (me["is_service"], me["role"], me["area"]["name"]) == (True, "community_staff", "嘉和社区")

    expected = scope_oracle(live_app, [issued["username"], "grid2"])
    mine, outsider = expected["personas"][issued["username"]], expected["personas"]["grid2"]
    for path, entity in (
        ("/api/v1/areas?include_retired=true", "areas"),
        ("/api/v1/buildings?include_retired=true", "buildings"),
        ("/api/v1/dwellings?include_retired=true", "dwellings"),
        ("/api/v1/users", "users"),
    ):
        assert {item["id"] for item in api.all_items(path, key)} == set(mine[entity]), path
    assert len(mine["dwellings"]) == 3 * 2 * 16  # 嘉和社区: 3 grids × 2 buildings × 16 households
    foreign = outsider["dwellings"][0]
    assert api.get(f"/api/v1/dwellings/{foreign}", key).status == 404
    assert api.get(f"/api/v1/dwellings/{mine['dwellings'][0]}", key).status == 200

    shell_json(
        live_app,
        f"""
        from minqing.accounts.models import ApiToken, User
        from minqing.accounts.services import integration_key_revoke
        integration_key_revoke(actor=User.objects.get(username="district1"),
                               token=ApiToken.objects.get(pk={issued["token"]}))
        emit(True)
        """,
    )
    revoked = api.get("/api/v1/me", key)
    assert (revoked.status, revoked.json()["code"]) == (401, NOT_AUTHENTICATED)


def test_requests_without_a_valid_token_are_401_json(api):
    for headers_token in (None, "", "not-a-token", "mq_" + "x" * 43):
        reply = api.get("/api/v1/areas", headers_token)
        assert reply.status == 401, headers_token
        assert reply.content_type.startswith("application/json")
        assert reply.json()["code"] == NOT_AUTHENTICATED
        assert reply.json()["field"] is None
        assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
