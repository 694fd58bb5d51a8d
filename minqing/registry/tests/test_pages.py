"""The registry pages as a grid worker, a liaison and a community admin use them: search, the resident
and household pages, events, tags, the reveal action. Residents are made through the services, so
the tests do not depend on the demo's residents."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from minqing.areas.models import Dwelling
from minqing.core.models import AuditEntry
from minqing.registry import services
from minqing.registry.idnumbers import check_character
from minqing.registry.models import EventKind, Resident, ResidentStatus, Tag

pytestmark = pytest.mark.django_db


def citizen_id(region="150603", birth="19450302", seq="123"):
    first17 = region + birth + seq
    return first17 + check_character(first17)


def grid1_dwellings(persona):
    # A dwelling may hold several households: the tests' own sit beside the demo's where there is one.
    return Dwelling.objects.filter(building__grid=persona("grid1").area).order_by("pk")


def register(actor, dwelling=None, household=None, **data):
    data.setdefault("name", "张杰")
    return services.resident_create(actor=actor, data=data, dwelling=dwelling, household=household)


def text(response) -> str:
    return response.content.decode()


# The search ---------------------------------------------------------------------------------------


def test_search_by_initials_finds_the_resident_and_shows_only_masked_identifiers(persona, client_as):
    grid1 = persona("grid1")
    number = citizen_id(seq="601")
    r = register(grid1, grid1_dwellings(persona)[0], name="章君", id_number=number, phone="13812345678")
    page = client_as("grid1").get("/residents/", {"q": "zj"})
    assert page.status_code == 200
    html = text(page)
    assert f'href="/residents/{r.pk}/"' in html
    assert r.id_number_masked in html and "138****5678" in html
    assert number not in html and "13812345678" not in html


def test_search_by_exact_id_number_and_phone(persona, client_as):
    grid1 = persona("grid1")
    number = citizen_id(seq="603")
    r = register(grid1, grid1_dwellings(persona)[1], name="冯远", id_number=number, phone="13900002222")
    client = client_as("grid1")
    assert f'href="/residents/{r.pk}/"' in text(client.get("/residents/", {"q": number}))
    assert f'href="/residents/{r.pk}/"' in text(client.get("/residents/", {"q": "139 0000 2222"}))
    assert f'href="/residents/{r.pk}/"' not in text(client.get("/residents/", {"q": citizen_id(seq="605")}))


def test_a_liaison_finds_only_their_households(persona, client_as):
    grid1, liaison = persona("grid1"), persona("liaison1")
    mine = liaison.dwellings.first()
    other = grid1_dwellings(persona).exclude(pk__in=liaison.dwellings.values("pk")).first()
    inside = register(grid1, mine, name="祝佳")
    outside = register(grid1, other, name="祝军")
    html = text(client_as("liaison1").get("/residents/", {"q": "zj"}))
    assert f'href="/residents/{inside.pk}/"' in html
    assert f'href="/residents/{outside.pk}/"' not in html


def test_status_defaults_to_registered_and_can_show_everyone(persona, client_as):
    grid1 = persona("grid1")
    gone = register(grid1, grid1_dwellings(persona)[2], name="庄静")
    services.resident_move_out(actor=grid1, resident=gone, occurred_on="2026-11-01", destination="包头市")
    client = client_as("grid1")
    assert f'href="/residents/{gone.pk}/"' not in text(client.get("/residents/", {"q": "庄静"}))
    assert f'href="/residents/{gone.pk}/"' in text(client.get("/residents/", {"q": "庄静", "status": "all"}))
    assert f'href="/residents/{gone.pk}/"' in text(client.get("/residents/", {"q": "庄静", "status": "moved_out"}))


def test_filters_by_tag_age_and_registration_type(persona, client_as):
    grid1 = persona("grid1")
    alone = Tag.objects.get(name="独居老人", community=None)
    old = register(grid1, grid1_dwellings(persona)[3], name="卓老", birth_date="1940-05-01", registration_type="流动")
    young = register(grid1, grid1_dwellings(persona)[4], name="卓少", birth_date="2000-05-01")
    services.resident_set_tags(actor=grid1, resident=old, tags=[{"tag": alone.pk}])
    client = client_as("grid1")

    def found(**params):
        ids = set(map(int, re.findall(r'href="/residents/(\d+)/"', text(client.get("/residents/", params)))))
        return {old.pk, young.pk} & ids

    assert found(q="卓", tag=alone.pk) == {old.pk}
    assert found(q="卓", age_min=80) == {old.pk}
    assert found(q="卓", age_max=30) == {young.pk}
    assert found(q="卓", registration_type="floating") == {old.pk}


def test_a_bad_filter_names_its_field(client_as):
    response = client_as("grid1").get("/residents/", {"age_min": "90", "age_max": "60"})
    assert response.status_code == 200
    html = text(response)
    assert "年龄上限不能小于下限" in html
    # The error sits with the age-to field.
    assert html.index("年龄上限不能小于下限") > html.index('for="id_age_max"')
    response = client_as("grid1").get("/residents/", {"age_min": "abc"})
    assert "id_age_min_error" in text(response)


def test_search_list_pages_use_a_bounded_number_of_queries(persona, client_as, django_assert_max_num_queries):
    grid1 = persona("grid1")
    for i, dwelling in enumerate(grid1_dwellings(persona)[:12]):
        register(grid1, dwelling, name=f"邹{'一二三四五六七八九十甲乙'[i]}", phone=f"1370000{i:04d}")
    client = client_as("grid1")
    with django_assert_max_num_queries(20):
        assert client.get("/residents/", {"q": "zou"}).status_code == 200


# The resident page -------------------------------------------------------------------------------


def test_resident_page_shows_masked_values_tags_events_and_history(persona, client_as):
    grid1 = persona("grid1")
    number = citizen_id(seq="611")
    r = register(grid1, grid1_dwellings(persona)[5], name="严华", id_number=number, phone="13612345678")
    services.resident_update(actor=grid1, resident=r, data={"occupation": "退休", "health_notes": "高血压"})
    html = text(client_as("grid1").get(f"/residents/{r.pk}/"))
    assert r.id_number_masked in html and "136****5678" in html
    assert number not in html and "13612345678" not in html
    assert "高血压" in html  # grid workers hold VIEW_SENSITIVE
    assert 'data-testid="history"' in html and "退休" in html
    assert "查看完整号码" in html


def test_health_notes_are_not_shown_to_a_liaison(persona, client_as):
    grid1, liaison = persona("grid1"), persona("liaison1")
    r = register(grid1, liaison.dwellings.first(), name="严冬", health_notes="糖尿病")
    html = text(client_as("liaison1").get(f"/residents/{r.pk}/"))
    assert "严冬" in html and "糖尿病" not in html and "健康状况" not in html
    assert "查看完整号码" not in html  # no reveal permission either
    assert 'data-testid="manage"' not in html


def test_reveal_returns_only_the_value_fragment_and_is_audited(persona, client_as):
    grid1 = persona("grid1")
    number = citizen_id(seq="613")
    r = register(grid1, grid1_dwellings(persona)[6], name="韩梅", id_number=number)
    client = client_as("grid1")
    refused = client.post(f"/residents/{r.pk}/reveal/", {"field": "id_number", "reason": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and number not in text(refused) and "errorlist" in text(refused)
    before = AuditEntry.objects.filter(action="resident.reveal").count()
    shown = client.post(
        f"/residents/{r.pk}/reveal/", {"field": "id_number", "reason": "办理高龄津贴"}, HTTP_HX_REQUEST="true"
    )
    assert shown.status_code == 200
    assert number in text(shown) and "<html" not in text(shown)
    assert "no-store" in shown["Cache-Control"] or "max-age=0" in shown["Cache-Control"]
    entry = AuditEntry.objects.filter(action="resident.reveal").latest("pk")
    assert AuditEntry.objects.filter(action="resident.reveal").count() == before + 1
    assert entry.data == {"field": "id_number", "reason": "办理高龄津贴"} and entry.target_id == str(r.pk)


def test_reveal_is_forbidden_without_the_permission_and_404_out_of_scope(persona, client_as):
    grid1 = persona("grid1")
    r = register(grid1, persona("liaison1").dwellings.first(), name="韩雪", phone="13512345678")
    assert (
        client_as("liaison1").post(f"/residents/{r.pk}/reveal/", {"field": "phone", "reason": "回访"}).status_code
        == 403
    )
    assert (
        client_as("grid2").post(f"/residents/{r.pk}/reveal/", {"field": "phone", "reason": "回访"}).status_code == 404
    )
    assert not AuditEntry.objects.filter(action="resident.reveal", target_id=str(r.pk)).exists()


def test_register_edit_and_field_errors(persona, client_as):
    dwelling = grid1_dwellings(persona)[7]
    client = client_as("grid1")
    bad = client.post(f"/residents/new/?dwelling={dwelling.pk}", {"name": "曹操", "id_number": "150603194503021239"})
    assert bad.status_code == 200
    html = text(bad)
    assert "errorlist" in html and html.index("errorlist") > html.index('for="id_id_number"')
    assert not Resident.objects.filter(name="曹操").exists()
    number = citizen_id(seq="621")
    done = client.post(
        f"/residents/new/?dwelling={dwelling.pk}",
        {
            "name": "曹操",
            "id_number": number,
            "registration_type": "household",
            "relation": "head",
            "phone": "13700009999",
        },
    )
    assert done.status_code == 302
    r = Resident.objects.get(name="曹操")
    assert r.id_number == number and r.household.dwelling_id == dwelling.pk
    # Editing leaves the number alone when the field is left empty.
    page = client.get(f"/residents/{r.pk}/edit/")
    assert number not in text(page) and "13700009999" not in text(page)
    edited = client.post(
        f"/residents/{r.pk}/edit/",
        {"name": "曹孟德", "id_number": "", "phone": "", "registration_type": "household", "relation": "head"},
    )
    assert edited.status_code == 302
    r.refresh_from_db()
    assert (r.name, r.id_number, r.phone) == ("曹孟德", number, "13700009999")
    # A member joins the household.
    client.post(
        f"/residents/new/?household={r.household_id}",
        {"name": "曹丕", "relation": "son", "registration_type": "household"},
    )
    assert Resident.objects.get(name="曹丕").household_id == r.household_id


def test_a_liaison_cannot_register_or_edit(persona, client_as):
    liaison = persona("liaison1")
    dwelling = liaison.dwellings.first()
    r = register(persona("grid1"), dwelling, name="魏征")
    client = client_as("liaison1")
    assert client.get(f"/residents/new/?dwelling={dwelling.pk}").status_code == 403
    assert client.get(f"/residents/{r.pk}/edit/").status_code == 403
    assert (
        client.post(f"/residents/{r.pk}/move-out/", {"occurred_on": "2026-11-01", "destination": "x"}).status_code
        == 403
    )
    assert client_as("dept1").get("/residents/").status_code == 403


# Events ------------------------------------------------------------------------------------------


def test_move_out_death_change_of_dwelling_and_return_through_the_pages(persona, client_as):
    grid1 = persona("grid1")
    first, second, third = grid1_dwellings(persona)[8:11]
    a = register(grid1, first, name="袁一")
    b = register(grid1, household=a.household, name="袁二", relation="配偶")
    c = register(grid1, first, name="袁三")
    client = client_as("grid1")
    missing = client.post(f"/residents/{a.pk}/move-out/", {"occurred_on": "2026-11-01", "destination": ""})
    assert "errorlist" in text(missing)
    assert (
        client.post(
            f"/residents/{a.pk}/move-out/", {"occurred_on": "2026-11-01", "destination": "呼和浩特"}
        ).status_code
        == 302
    )
    assert client.post(f"/residents/{b.pk}/decease/", {"occurred_on": "2026-11-02"}).status_code == 302
    assert (
        client.post(
            f"/residents/{c.pk}/change-dwelling/", {"occurred_on": "2026-11-03", "dwelling": second.pk}
        ).status_code
        == 302
    )
    early = client.post(f"/residents/{a.pk}/return/", {"occurred_on": "2026-10-01"})
    assert "errorlist" in text(early)  # before the move-out
    assert client.post(f"/residents/{a.pk}/return/", {"occurred_on": "2026-11-05"}).status_code == 302
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert a.status == ResidentStatus.ACTIVE and b.status == ResidentStatus.DECEASED and c.dwelling_id == second.pk
    page = text(client.get(f"/residents/{a.pk}/"))
    assert "迁出" in page and "回迁" in page and "呼和浩特" in page
    # The dwelling left shows who lived there before; the new one who lives there now.
    old = text(client.get(f"/areas/dwellings/{first.pk}/"))
    assert 'data-testid="former-residents"' in old and "袁三" in old and "袁二" in old
    new = text(client.get(f"/areas/dwellings/{second.pk}/"))
    assert "袁三" in new
    assert third  # untouched


# Tags --------------------------------------------------------------------------------------------


def test_setting_tags_with_grade_and_age_tags_marked_automatic(persona, client_as):
    grid1 = persona("grid1")
    r = register(grid1, grid1_dwellings(persona)[11], name="盛老", birth_date="1930-01-01")
    disability = Tag.objects.get(name="残疾", community=None)
    client = client_as("grid1")
    page = text(client.get(f"/residents/{r.pk}/tags/"))
    assert "高龄" in page and "自动" in page
    assert f'name="tag_{Tag.objects.get(name="高龄", community=None).pk}"' not in page
    bad = client.post(f"/residents/{r.pk}/tags/", {f"tag_{disability.pk}": "on", f"grade_{disability.pk}": "9"})
    assert bad.status_code == 200
    done = client.post(
        f"/residents/{r.pk}/tags/",
        {f"tag_{disability.pk}": "on", f"grade_{disability.pk}": "2", f"detail_{disability.pk}": "视力"},
    )
    assert done.status_code == 302
    html = text(client.get(f"/residents/{r.pk}/"))
    assert "残疾（视力2级）" in html and "高龄" in html


def test_tags_page_for_a_community_admin(persona, client_as):
    admin = persona("admin1")
    client = client_as("admin1")
    page = client.get("/residents/tags/")
    assert page.status_code == 200 and "高龄" in text(page)
    assert client.post("/residents/tags/new/", {"name": "  "}).status_code == 400
    assert client.post("/residents/tags/new/", {"name": "重点关注"}).status_code == 302
    own = Tag.objects.get(name="重点关注", community=admin.area)
    gaoling = Tag.objects.get(name="高龄", community=None)
    assert client.post(f"/residents/tags/{gaoling.pk}/threshold/", {"min_age": "70"}).status_code == 302
    assert "70 岁及以上" in text(client.get("/residents/tags/"))
    # A shipped tag cannot be retired by a community; their own can.
    assert client.post(f"/residents/tags/{gaoling.pk}/retire/").status_code == 403
    assert client.post(f"/residents/tags/{own.pk}/retire/").status_code == 302
    own.refresh_from_db()
    assert own.retired_at is not None
    assert client_as("grid1").get("/residents/tags/").status_code == 403
    assert client_as("staff1").post(f"/residents/tags/{own.pk}/retire/").status_code == 403


# The household (doorstep) page -------------------------------------------------------------------


def _household(grid1, dwelling, members: int, changes: int):
    head = register(grid1, dwelling, name="户主", id_number=citizen_id(seq="700"), phone="13800000000")
    people = [head]
    for i in range(1, members):
        people.append(
            register(
                grid1,
                household=head.household,
                name=f"成员{i}",
                relation="子",
                id_number=citizen_id(seq=f"{700 + i}"),
                phone=f"1380000{i:04d}",
            )
        )
    for i in range(changes):
        services.resident_update(actor=grid1, resident=people[i % len(people)], data={"notes": f"第{i}次走访"})
    alone = Tag.objects.get(name="独居老人", community=None)
    services.resident_set_tags(actor=grid1, resident=head, tags=[{"tag": alone.pk}])
    return head.household


def _count(client, url) -> int:
    """The SQL statements a page costs. The test's own transaction turns the session's save into a
    SAVEPOINT and its RELEASE, which a real request does not send, so those are not counted."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])


def test_household_page_query_budget_whatever_the_size(persona, client_as):
    grid1 = persona("grid1")
    dwellings = grid1_dwellings(persona)
    big = _household(grid1, dwellings[12], members=10, changes=50)
    small = _household_small = None
    small = services.resident_create(actor=grid1, data={"name": "小户主"}, dwelling=dwellings[13]).household
    register(grid1, household=small, name="小成员", relation="配偶")
    client = client_as("grid1")
    client.get(f"/residents/households/{small.pk}/")  # warm the session and caches
    html = text(client.get(f"/residents/households/{big.pk}/"))
    assert html.count('class="person"') == 10
    assert "独居老人" in html and "380000" not in html.replace("138****0000", "")
    big_count = _count(client, f"/residents/households/{big.pk}/")
    small_count = _count(client, f"/residents/households/{small.pk}/")
    # Under 15 (issue 4), the nav's unread-messages badge and the visits diary included.
    assert big_count == small_count < 15, (big_count, small_count)
    assert _household_small is None


def test_household_page_shows_members_staff_and_former_members(persona, client_as):
    grid1, liaison = persona("grid1"), persona("liaison1")
    dwelling = liaison.dwellings.first()
    head = register(grid1, dwelling, name="朱红", id_number=citizen_id(seq="801"))
    son = register(grid1, household=head.household, name="朱明", relation="子")
    services.resident_move_out(actor=grid1, resident=son, occurred_on="2026-11-01", destination="北京")
    html = text(client_as("liaison1").get(f"/residents/households/{head.household_id}/"))
    assert head.id_number_masked in html and head.id_number not in html
    assert liaison.display_name in html and grid1.display_name in html
    assert 'data-testid="former-members"' in html and "朱明" in html
    assert str(EventKind.MOVED_OUT.label) in html
    assert client_as("grid2").get(f"/residents/households/{head.household_id}/").status_code == 404


def test_a_search_with_more_hits_than_the_cap_says_so_instead_of_counting_them_all(client_as, monkeypatch):
    from minqing.registry import selectors

    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 5)
    page = client_as("staff1").get("/residents/", {"status": "all"}).content.decode()
    assert "超过 5 条，请缩小查询范围" in page
