"""The account administration pages, driven through the test client as the demo personas:
users (list, create, edit, disable, unlock, reset password), the audit log and integration API keys."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from minqing.accounts.auth import api_token_user
from minqing.accounts.models import ApiToken, Department, User
from minqing.areas.models import Area, Building, Dwelling
from minqing.core.models import AuditEntry

PASSWORD = "Minqing@2025"
NEW_PASSWORD = "Grid#Work2025"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _area(name: str) -> Area:
    return Area.objects.get(name=name)


def _usernames(response) -> list[str]:
    return re.findall(r'<tr data-username="([^"]+)"', response.content.decode())


def _all_usernames(client: Client, url: str) -> list[str]:
    """Every username the list shows, following its pages the way a user clicks 下一页."""
    names, page = [], 1
    while True:
        response = client.get(url, {"page": page} if page > 1 else None)
        assert response.status_code == 200
        names += _usernames(response)
        if "下一页" not in response.content.decode():
            return names
        page += 1


def _sign_in(username: str, password: str = PASSWORD) -> tuple[Client, object]:
    """Sign in through the real login form."""
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password}, follow=True)
    return client, response


def _field_errors(response) -> dict:
    return response.context["form"].errors


# Who may open which page ---------------------------------------------------------------------------------

PAGES = {
    "/accounts/users/": {"grid1", "staff1", "admin1", "street1", "dept1", "district1", "grid2", "staff2", "street2"},
    "/accounts/users/new/": {"admin1", "district1"},
    "/accounts/audit/": {"admin1", "street1", "district1", "street2"},
    "/accounts/api-keys/": {"district1"},
}
ROLES = [
    "grid1",
    "liaison1",
    "bhead1",
    "staff1",
    "admin1",
    "street1",
    "dept1",
    "district1",
    "grid2",
    "staff2",
    "street2",
]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("username", ROLES)
def test_page_opens_only_for_roles_with_the_capability(client_as, url, username):
    response = client_as(username).get(url)
    if username in PAGES[url]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "无权" in response.content.decode()


def test_anonymous_visitor_is_sent_to_sign_in(db):
    for url in PAGES:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_navigation_links_follow_the_capabilities(client_as):
    grid = client_as("grid1").get("/").content.decode()
    assert "/accounts/users/" in grid and "/accounts/audit/" not in grid and "/accounts/api-keys/" not in grid
    district = client_as("district1").get("/").content.decode()
    assert all(url in district for url in ("/accounts/users/", "/accounts/audit/", "/accounts/api-keys/"))


# User list -------------------------------------------------------------------------------------------------


def test_admin1_sees_exactly_the_accounts_attached_in_jiahe(client_as):
    jiahe = _area("嘉和社区")
    expected = set(
        User.objects.filter(area__path__startswith=jiahe.path, is_service=False).values_list("username", flat=True)
    )
    shown = _all_usernames(client_as("admin1"), "/accounts/users/")
    assert len(shown) == len(set(shown))
    assert set(shown) == expected
    assert {"grid1", "liaison1", "staff1", "admin1"} <= set(shown)
    assert "staff2" not in shown and "grid2" not in shown and "dept1" not in shown


def test_district1_pages_through_every_account_of_the_district(client_as):
    district = _area("民安区")
    expected = set(
        User.objects.filter(
            Q(area__path__startswith=district.path) | Q(department__area__path__startswith=district.path),
            is_service=False,
        ).values_list("username", flat=True)
    )
    assert len(expected) > 25  # more than one page
    shown = _all_usernames(client_as("district1"), "/accounts/users/")
    assert len(shown) == len(set(shown)) and set(shown) == expected


def test_user_list_filters_by_role_and_text(client_as):
    client = client_as("district1")
    shown = set(_all_usernames(client, "/accounts/users/?role=grid_worker&q=嘉和"))
    expected = {
        u.username
        for u in User.objects.filter(role="grid_worker", is_service=False)
        if "嘉和" in u.username or "嘉和" in u.display_name
    }
    assert shown == expected and len(expected) >= 1
    assert _usernames(client.get("/accounts/users/", {"q": "staff"})) == ["staff1", "staff2"]


def test_user_list_shows_role_area_and_state(client_as, persona):
    grid1 = persona("grid1")
    User.objects.filter(pk=grid1.pk).update(locked_until=timezone.now() + timedelta(minutes=10))
    page = client_as("admin1").get("/accounts/users/", {"q": "grid1"}).content.decode()
    row = page[page.index('data-username="grid1"') :].split("</tr>")[0]
    assert "网格员" in row and "嘉和社区第1网格" in row and "已锁定" in row


def test_user_list_query_budget(client_as, django_assert_max_num_queries):
    client = client_as("district1")
    with django_assert_max_num_queries(12):
        response = client.get("/accounts/users/")
    assert len(_usernames(response)) == 25


# User detail -----------------------------------------------------------------------------------------------


def test_user_page_shows_assignment_and_what_they_look_after(client_as, persona):
    liaison1 = persona("liaison1")
    page = client_as("admin1").get(f"/accounts/users/{liaison1.pk}/").content.decode()
    assert "联户长" in page and "嘉和社区第1网格" in page
    for dwelling in liaison1.dwellings.all():
        assert f"/areas/dwellings/{dwelling.pk}/" in page
    assert "包联房屋（16 户）" in page

    bhead1 = persona("bhead1")
    page = client_as("district1").get(f"/accounts/users/{bhead1.pk}/").content.decode()
    building = bhead1.buildings.get()
    assert f"/areas/buildings/{building.pk}/" in page and str(building) in page


def test_out_of_scope_user_is_not_found(client_as, persona):
    staff2 = persona("staff2")
    client = client_as("admin1")
    assert client.get(f"/accounts/users/{staff2.pk}/").status_code == 404
    assert client.get(f"/accounts/users/{staff2.pk}/edit/").status_code == 404
    assert client.post(f"/accounts/users/{staff2.pk}/disable/").status_code == 404
    assert User.objects.get(pk=staff2.pk).is_active
    assert client.get("/accounts/users/999999/").status_code == 404


def test_change_history_names_who_when_and_old_to_new(client_as, persona):
    liaison1 = persona("liaison1")
    dwellings = list(liaison1.dwellings.values_list("pk", flat=True))
    client = client_as("admin1")
    response = client.post(
        f"/accounts/users/{liaison1.pk}/edit/",
        {"display_name": "程大壮", "role": "liaison", "area": liaison1.area_id, "dwellings": dwellings},
    )
    assert response.status_code == 302
    liaison1.refresh_from_db()
    assert liaison1.display_name == "程大壮"
    assert set(liaison1.dwellings.values_list("pk", flat=True)) == set(dwellings)
    page = client.get(f"/accounts/users/{liaison1.pk}/").content.decode()
    history = page[page.index('data-testid="history"') :]
    assert "赵书记" in history  # admin1's name
    assert "姓名：程强壮 → 程大壮" in history
    stamp = liaison1.history.latest().history_date.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert stamp in history
    assert AuditEntry.objects.filter(action="user.update", actor=persona("admin1"), target_id=str(liaison1.pk)).exists()


# Creating users --------------------------------------------------------------------------------------------


def _create_form(**values) -> dict:
    data = {"username": "gw-new", "display_name": "新网格员", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    data.update(values)
    return data


def test_admin1_creates_a_grid_worker_who_must_change_the_password(client_as, persona):
    grid2 = _area("嘉和社区第2网格")
    client = client_as("admin1")
    assert client.get("/accounts/users/new/").status_code == 200
    response = client.post("/accounts/users/new/", _create_form(role="grid_worker", area=grid2.pk))
    created = User.objects.get(username="gw-new")
    assert response.status_code == 302 and response["Location"] == f"/accounts/users/{created.pk}/"
    assert (created.role, created.area, created.must_change_password) == ("grid_worker", grid2, True)
    assert AuditEntry.objects.filter(action="user.create", actor=persona("admin1"), target_id=str(created.pk)).exists()
    assert "gw-new" in _all_usernames(client, "/accounts/users/")

    new_client, response = _sign_in("gw-new", NEW_PASSWORD)
    assert response.redirect_chain[-1][0] == "/accounts/password/"
    assert "修改密码" in response.content.decode()
    # Until the password is changed, the rest of the application sends them back here.
    assert new_client.get("/areas/")["Location"] == "/accounts/password/"


def test_admin1_creates_a_liaison_with_dwellings_of_the_chosen_grid(client_as):
    grid2 = _area("嘉和社区第2网格")
    picked = list(Dwelling.objects.filter(building__grid=grid2).order_by("pk").values_list("pk", flat=True)[:3])
    response = client_as("admin1").post(
        "/accounts/users/new/", _create_form(username="lh-new", role="liaison", area=grid2.pk, dwellings=picked)
    )
    assert response.status_code == 302
    assert set(User.objects.get(username="lh-new").dwellings.values_list("pk", flat=True)) == set(picked)


def test_choices_follow_the_chosen_role_and_grid(client_as):
    """Changing the role or the grid re-renders the form (HTMX) with fitting choices and stores nothing."""
    grid1 = _area("嘉和社区第1网格")
    client = client_as("admin1")
    before = User.objects.count()
    response = client.post("/accounts/users/new/", {"_refresh": "1", "role": "liaison", "area": grid1.pk})
    assert response.status_code == 200 and not _field_errors(response)
    form = response.context["form"]
    assert set(form.fields["dwellings"].queryset) == set(Dwelling.objects.filter(building__grid=grid1))
    # Dwellings someone already looks after carry that liaison's name (liaison1 has the first building).
    assert response.content.decode().count("（程强壮）") == 16
    area_options = dict(form.fields["area"].widget.choices)
    assert "网格" in area_options and "社区/村" not in area_options
    assert {pk for pk, _name in area_options["网格"]} == set(
        Area.objects.filter(parent=grid1.parent, level="grid").values_list("pk", flat=True)
    )
    response = client.post("/accounts/users/new/", {"_refresh": "1", "role": "building_head", "area": grid1.pk})
    assert set(response.context["form"].fields["buildings"].queryset) == set(Building.objects.filter(grid=grid1))
    assert User.objects.count() == before
    liaison1 = User.objects.get(username="liaison1")
    assert "（程强壮）" not in client.get(f"/accounts/users/{liaison1.pk}/edit/").content.decode()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"role": "district_staff", "area": "民安区"}, "role"),
        ({"role": "community_staff", "area": "恒大社区"}, "area"),
        ({"role": "grid_worker", "area": "恒大社区第1网格"}, "area"),
        ({"role": "grid_worker", "area": "嘉和社区"}, "area"),  # wrong level for the role
        (
            {"role": "grid_worker", "area": "嘉和社区第2网格", "password": "password1", "password2": "password1"},
            "password",
        ),
        ({"role": "grid_worker", "area": "嘉和社区第2网格", "username": "GRID1"}, "username"),
    ],
)
def test_admin1_cannot_create_outside_their_remit(client_as, values, field):
    before = User.objects.count()
    data = _create_form(**values)
    data["area"] = _area(values["area"]).pk
    response = client_as("admin1").post("/accounts/users/new/", data)
    assert response.status_code == 200
    assert field in _field_errors(response), _field_errors(response)
    # The message is rendered inside that field's group, next to the input.
    page = response.content.decode()
    group = page[: page.index(f'name="{field}"')].rsplit("<div>", 1)[1]
    assert 'class="errorlist' in group
    assert User.objects.count() == before


def test_liaison_dwellings_must_lie_in_the_chosen_grid(client_as):
    grid2, grid1 = _area("嘉和社区第2网格"), _area("嘉和社区第1网格")
    elsewhere = Dwelling.objects.filter(building__grid=grid1).values_list("pk", flat=True)[:1]
    response = client_as("admin1").post(
        "/accounts/users/new/", _create_form(role="liaison", area=grid2.pk, dwellings=list(elsewhere))
    )
    assert "dwellings" in _field_errors(response)
    assert not User.objects.filter(username="gw-new").exists()


def test_district1_creates_a_department_account_for_a_unit(client_as):
    unit = Department.objects.get(name="嘉和苑物业")
    client = client_as("district1")
    form = client.post("/accounts/users/new/", {"_refresh": "1", "role": "department"}).context["form"]
    assert "area" not in form.fields and unit in form.fields["department"].queryset
    response = client.post(
        "/accounts/users/new/", _create_form(username="wy-new", role="department", department=unit.pk)
    )
    assert response.status_code == 302
    created = User.objects.get(username="wy-new")
    assert (created.role, created.department, created.area) == ("department", unit, None)


# Actions: disable, enable, unlock, reset password ------------------------------------------------------------


def test_disabling_ends_the_users_sessions_at_once(client_as, persona):
    victim, response = _sign_in("grid1")
    assert response.status_code == 200 and victim.get("/").status_code == 200
    grid1 = persona("grid1")
    admin = client_as("admin1")
    response = admin.post(f"/accounts/users/{grid1.pk}/disable/")
    assert response.status_code == 302
    grid1.refresh_from_db()
    assert not grid1.is_active
    response = victim.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert AuditEntry.objects.filter(action="user.disable", target_id=str(grid1.pk)).exists()
    # Disabled accounts cannot sign in again until enabled.
    assert _sign_in("grid1")[1].redirect_chain == []
    assert admin.post(f"/accounts/users/{grid1.pk}/enable/").status_code == 302
    assert _sign_in("grid1")[1].redirect_chain[-1][0] == "/"


def test_admin_cannot_disable_their_own_account(client_as, persona):
    admin1 = persona("admin1")
    response = client_as("admin1").post(f"/accounts/users/{admin1.pk}/disable/")
    assert response.status_code == 400
    assert "不能停用自己的账号" in response.content.decode()
    assert User.objects.get(pk=admin1.pk).is_active


def test_unlock_clears_the_lock_and_is_audited(client_as, persona):
    for _ in range(5):
        _sign_in("grid1", "wrong-password")
    grid1 = persona("grid1")
    assert grid1.locked_until and grid1.locked_until > timezone.now()
    assert _sign_in("grid1")[1].redirect_chain == []  # the right password is refused while locked

    admin = client_as("admin1")
    page = admin.get(f"/accounts/users/{grid1.pk}/").content.decode()
    assert "解除锁定" in page and timezone.localtime(grid1.locked_until).strftime("%H:%M") in page
    assert admin.post(f"/accounts/users/{grid1.pk}/unlock/").status_code == 302
    grid1.refresh_from_db()
    assert grid1.locked_until is None
    entry = AuditEntry.objects.get(action="auth.unlocked", target_id=str(grid1.pk))
    assert entry.actor == persona("admin1")
    assert _sign_in("grid1")[1].redirect_chain[-1][0] == "/"


def test_reset_password_checks_the_rules_and_forces_a_change(client_as, persona):
    liaison1 = persona("liaison1")
    admin = client_as("admin1")
    url = f"/accounts/users/{liaison1.pk}/reset-password/"
    response = admin.post(url, {"password": "abcdefgh", "password2": "abcdefgh"})
    assert response.status_code == 400 and "password" in response.context["reset_form"].errors
    response = admin.post(url, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    assert response.status_code == 400 and "password2" in response.context["reset_form"].errors
    assert admin.post(url, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 302
    assert AuditEntry.objects.filter(action="user.password_reset", target_id=str(liaison1.pk)).exists()
    assert _sign_in("liaison1")[1].redirect_chain == []  # the old password no longer works
    assert _sign_in("liaison1", NEW_PASSWORD)[1].redirect_chain[-1][0] == "/accounts/password/"


def test_unknown_action_is_not_found_and_actions_need_post(client_as, persona):
    grid1 = persona("grid1")
    admin = client_as("admin1")
    assert admin.post(f"/accounts/users/{grid1.pk}/delete/").status_code == 404
    assert admin.get(f"/accounts/users/{grid1.pk}/disable/").status_code == 405
    assert User.objects.get(pk=grid1.pk).is_active


def test_roles_that_only_view_users_cannot_act(client_as, persona):
    liaison1 = persona("liaison1")
    client = client_as("grid1")
    page = client.get(f"/accounts/users/{liaison1.pk}/").content.decode()
    assert "停用账号" not in page and "重置密码" not in page
    assert client.post(f"/accounts/users/{liaison1.pk}/disable/").status_code == 403
    assert client.get(f"/accounts/users/{liaison1.pk}/edit/").status_code == 403
    assert User.objects.get(pk=liaison1.pk).is_active


def test_actions_require_the_csrf_token(persona):
    client = Client(enforce_csrf_checks=True)
    client.force_login(persona("admin1"), backend="minqing.accounts.backends.RoleBackend")
    from minqing.accounts.middleware import SIGNED_IN_AT

    session = client.session
    session[SIGNED_IN_AT] = timezone.now().timestamp()
    session.save()
    grid1 = persona("grid1")
    assert client.post(f"/accounts/users/{grid1.pk}/disable/").status_code == 403
    assert User.objects.get(pk=grid1.pk).is_active


# Audit log ---------------------------------------------------------------------------------------------------


def _audit_rows(response) -> list[tuple[str, ...]]:
    page = response.content.decode()
    rows = re.findall(r'<tr data-action="[^"]*">(.*?)</tr>', page, re.S)
    return [tuple(c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)) for row in rows]


def test_audit_search_shows_only_entries_in_scope(client_as):
    _sign_in("grid1", "wrong-password")  # 嘉和
    _sign_in("grid2", "wrong-password")  # 恒大
    url = "/accounts/audit/?action=auth.login_failed"
    targets = {row[3] for row in _audit_rows(client_as("admin1").get(url))}
    assert "grid1" in targets and "grid2" not in targets
    targets = {row[3] for row in _audit_rows(client_as("street2").get(url))}
    assert "grid2" in targets and "grid1" not in targets

    # Everything admin1 sees lies under 嘉和社区; nothing from 恒大社区 however searched.
    jiahe, hengda = _area("嘉和社区"), _area("恒大社区")
    expected = AuditEntry.objects.filter(area_path__startswith=jiahe.path).count()
    shown = client_as("admin1").get("/accounts/audit/").context["page"].paginator.count
    assert shown == expected
    response = client_as("admin1").get("/accounts/audit/", {"q": "grid2"})
    assert AuditEntry.objects.filter(area_path__startswith=hengda.path, target_label="grid2").exists()
    assert _audit_rows(response) == []


def test_audit_rows_show_time_in_shanghai_actor_action_target_and_ip(client_as):
    _sign_in("grid1", "wrong-password")
    entry = AuditEntry.objects.filter(action="auth.login_failed", target_label="grid1").latest("at")
    rows = _audit_rows(client_as("admin1").get("/accounts/audit/", {"action": "auth.login_failed", "q": "grid1"}))
    assert rows[0] == (
        entry.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        "grid1",
        "登录失败",
        "grid1",
        "127.0.0.1",
    )


def test_audit_filters_by_period_action_and_user(client_as, persona):
    _sign_in("grid1", "wrong-password")
    _sign_in("grid1")
    client = client_as("admin1")
    today = timezone.localdate()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    assert _audit_rows(client.get("/accounts/audit/", {"date_from": tomorrow})) == []
    assert _audit_rows(client.get("/accounts/audit/", {"date_to": yesterday, "q": "grid1"})) == []
    labels = [r[2] for r in _audit_rows(client.get("/accounts/audit/", {"date_from": today, "date_to": today}))]
    assert "登录失败" in labels and "登录" in labels
    rows = _audit_rows(client.get("/accounts/audit/", {"action": "auth.*", "user": persona("grid1").pk}))
    assert [r[2] for r in rows][:2] == ["登录", "登录失败"]  # newest first
    response = client.get("/accounts/audit/", {"date_from": today, "date_to": yesterday})
    assert "date_to" in response.context["form"].errors


def test_audit_page_cannot_change_anything(client_as):
    _sign_in("grid1", "wrong-password")
    client = client_as("admin1")
    page = client.get("/accounts/audit/").content.decode()
    # The only form that posts is the sign-out button in the navigation.
    assert len(re.findall(r'method="post"', page)) == 1 and 'action="/accounts/logout/"' in page
    before = AuditEntry.objects.count()
    assert client.post("/accounts/audit/").status_code == 405
    assert client.delete("/accounts/audit/").status_code == 405
    assert AuditEntry.objects.count() == before


def test_grid1_gets_403_on_the_audit_page(client_as):
    response = client_as("grid1").get("/accounts/audit/")
    assert response.status_code == 403 and 'data-testid="audit"' not in response.content.decode()


# Integration API keys ------------------------------------------------------------------------------------------


def _api_areas(key: str):
    return Client().get("/api/v1/areas", headers={"authorization": f"Bearer {key}"})


def test_district1_issues_a_key_shown_once_that_works_until_revoked(client_as, persona):
    jiahe = _area("嘉和社区")
    client = client_as("district1")
    response = client.post("/accounts/api-keys/", {"name": "12345 热线", "role": "community_staff", "area": jiahe.pk})
    assert response.status_code == 200
    page = response.content.decode()
    key = re.search(r'value="(mq_[^"]+)" data-testid="issued-key"', page)[1]
    assert "只显示这一次" in page and "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="12345 热线")
    assert token.key_hash == ApiToken.hash_key(key) and key not in str(token.__dict__)
    assert AuditEntry.objects.filter(action="apikey.issue", actor=persona("district1")).exists()

    listing = client.get("/accounts/api-keys/").content.decode()
    assert "12345 热线" in listing and token.prefix in listing and key not in listing

    service = api_token_user(key)
    assert service is not None and (service.role, service.area, service.is_service) == ("community_staff", jiahe, True)
    # The key works as a bearer token on the API, with the scope it was issued for.
    response = _api_areas(key)
    assert response.status_code == 200
    expected = set(
        Area.objects.filter(path__startswith=jiahe.path, retired_at__isnull=True).values_list("pk", flat=True)
    )
    assert {item["id"] for item in response.json()["items"]} == expected

    response = client.post(f"/accounts/api-keys/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_user(key) is None
    assert _api_areas(key).status_code == 401
    assert AuditEntry.objects.filter(action="apikey.revoke", actor=persona("district1")).exists()
    assert "已撤销" in client.get("/accounts/api-keys/").content.decode()


def test_api_key_form_errors_name_the_field(client_as):
    client = client_as("district1")
    before = ApiToken.objects.count()
    response = client.post("/accounts/api-keys/", {"name": "供电系统", "role": "department"})
    assert "department" in _field_errors(response)
    response = client.post(
        "/accounts/api-keys/", {"name": "网格系统", "role": "community_staff", "area": _area("嘉和社区第1网格").pk}
    )
    assert "area" in _field_errors(response)
    response = client.post("/accounts/api-keys/", {"name": "", "role": "district_staff", "area": _area("民安区").pk})
    assert "name" in _field_errors(response)
    response = client.post("/accounts/api-keys/", {"name": "联户系统", "role": "liaison", "area": _area("嘉和社区").pk})
    assert "role" in _field_errors(response)
    assert ApiToken.objects.count() == before


def test_revoking_a_missing_key_is_not_found_and_others_cannot_revoke(client_as):
    assert client_as("district1").post("/accounts/api-keys/999999/revoke/").status_code == 404
    assert client_as("admin1").post("/accounts/api-keys/999999/revoke/").status_code == 403


def test_detail_audit_and_key_pages_keep_a_query_budget(client_as, persona, django_assert_max_num_queries):
    client = client_as("district1")
    for n in range(3):
        client.post("/accounts/api-keys/", {"name": f"系统{n}", "role": "district_staff", "area": _area("民安区").pk})
    liaison1 = persona("liaison1")
    dwellings = list(liaison1.dwellings.values_list("pk", flat=True))
    for name in ("甲", "乙", "丙"):
        client.post(
            f"/accounts/users/{liaison1.pk}/edit/",
            {"display_name": name, "role": "liaison", "area": liaison1.area_id, "dwellings": dwellings},
        )
    # The user page also reads the history's prefetched assignment rows (two per page of history and
    # two for the record before it): a constant, whatever the number of changes. Each page also counts
    # the unread messages for the top bar (one query).
    for url, budget in ((f"/accounts/users/{liaison1.pk}/", 15), ("/accounts/audit/", 11), ("/accounts/api-keys/", 11)):
        with django_assert_max_num_queries(budget):
            assert client.get(url).status_code == 200


def test_a_liaison_follows_their_building_to_its_new_grid(persona):
    """Grid boundaries are re-drawn: liaison1's whole building goes to grid 2, and liaison1, who looks
    after exactly those households, goes with it — to grid 2's worker — with history and audit."""
    from minqing.areas.services import building_move

    liaison1, admin1 = persona("liaison1"), persona("admin1")
    building = Building.objects.get(dwellings=liaison1.dwellings.first())
    building_move(actor=admin1, building=building, grid=_area("嘉和社区第2网格"))
    liaison1.refresh_from_db()
    assert liaison1.area == _area("嘉和社区第2网格")
    assert liaison1.history.latest().history_user == admin1
    entry = AuditEntry.objects.filter(action="user.update", target_id=str(liaison1.pk)).latest("at")
    assert entry.data["reason"] == "building.move"


def test_editing_never_silently_drops_what_a_liaison_looks_after(client_as, persona):
    """liaison1 also looks after one household of another grid-1 building; their own building moves to
    grid 2, so their charge is split and they stay on grid 1: the edit form still shows the dwellings
    ticked, and saving it as shown names the field instead of losing them."""
    from minqing.areas.services import building_move

    liaison1, admin1 = persona("liaison1"), persona("admin1")
    building = Building.objects.get(dwellings=liaison1.dwellings.first())
    other = Building.objects.filter(grid=liaison1.area).exclude(pk=building.pk).first()
    liaison1.dwellings.add(other.dwellings.first())
    mine = set(liaison1.dwellings.values_list("pk", flat=True))
    building_move(actor=admin1, building=building, grid=_area("嘉和社区第2网格"))
    liaison1.refresh_from_db()
    assert liaison1.area == _area("嘉和社区第1网格")

    client = client_as("admin1")
    page = client.get(f"/accounts/users/{liaison1.pk}/edit/").content.decode()
    ticked = {int(v) for v in re.findall(r'name="dwellings" value="(\d+)"[^>]*checked', page)}
    assert ticked == mine
    assert f"{building}（位于嘉和社区第2网格，不在所选网格）" in page
    response = client.post(
        f"/accounts/users/{liaison1.pk}/edit/",
        {"display_name": "程强壮", "role": "liaison", "area": liaison1.area_id, "dwellings": sorted(ticked)},
    )
    assert "dwellings" in _field_errors(response)
    assert set(liaison1.dwellings.values_list("pk", flat=True)) == mine


def test_building_head_edit_shows_their_buildings_ticked(client_as, persona):
    bhead1 = persona("bhead1")
    page = client_as("district1").get(f"/accounts/users/{bhead1.pk}/edit/").content.decode()
    ticked = {int(v) for v in re.findall(r'name="buildings" value="(\d+)"[^>]*checked', page)}
    offered = {int(v) for v in re.findall(r'name="buildings" value="(\d+)"', page)}
    assert ticked == set(bhead1.buildings.values_list("pk", flat=True))
    assert offered == set(Building.objects.filter(grid=bhead1.area).values_list("pk", flat=True))
