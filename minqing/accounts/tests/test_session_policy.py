"""The session rules that gate every page except the sign-in steps themselves."""

import pytest

from minqing.accounts import services
from minqing.accounts.auth import api_token_issue
from minqing.core.errors import AuthenticationFailed


def test_a_temporary_password_opens_nothing_but_the_password_page(client_as, persona):
    admin = persona("admin1")
    services.user_reset_password(actor=persona("district1"), user=admin, password="Jiahe#2026x")
    client = client_as("admin1")
    for url in ("/", "/accounts/users/", "/accounts/audit/", "/areas/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/password/"
    assert client.get("/accounts/password/").status_code == 200


def test_liaison_assignment_changes_are_in_the_user_history(persona):
    liaison = persona("liaison1")
    before = liaison.history.count()
    kept = list(liaison.dwellings.order_by("pk")[:15])
    services.user_update(
        actor=persona("admin1"),
        user=liaison,
        display_name=liaison.display_name,
        role="liaison",
        area=liaison.area,
        dwellings=kept,
    )
    latest = liaison.history.order_by("-history_date", "-history_id").first()
    assert liaison.history.count() > before
    assert {d.dwelling_id for d in latest.dwellings.all()} == {d.pk for d in kept}


def test_a_temporary_password_gets_no_api_token(persona):
    services.user_reset_password(actor=persona("admin1"), user=persona("grid1"), password="Grid#2026abc")
    with pytest.raises(AuthenticationFailed) as refused:
        api_token_issue(username="grid1", password="Grid#2026abc")
    assert refused.value.field == "password" and "临时密码" in str(refused.value.message)


def test_navigation_marks_the_section_of_the_page(client_as, persona):
    client = client_as("admin1")
    building = persona("liaison1").dwellings.first().building
    for url, section in (
        ("/", "首页"),
        ("/areas/", "区域与网格"),
        (f"/areas/area/{building.grid_id}/", "区域与网格"),
        ("/areas/estates/", "小区与房屋"),
        (f"/areas/buildings/{building.pk}/", "小区与房屋"),
        ("/accounts/users/", "用户管理"),
    ):
        html = client.get(url).content.decode()
        assert f'aria-current="page">{section}</a>' in html, url
        assert html.count('aria-current="page"') == 1, url
