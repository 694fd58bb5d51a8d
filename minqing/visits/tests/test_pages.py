"""The pages: the phone form (page and offline-queue JSON), the diary on the household and resident
pages, the export, the staff view of 今日走访."""

import datetime

import pytest
from django.utils import timezone

from minqing.visits import selectors, services
from minqing.visits.tests.factories import household_with

pytestmark = pytest.mark.django_db


def test_log_a_visit_and_see_it_in_the_diary(client_as, persona):
    grid1 = persona("grid1")
    h, (r,) = household_with(grid1, {"tags": ["独居老人"], "age": 80})
    c = client_as("grid1")
    assert c.get("/visits/today/").status_code == 200
    resp = c.get(f"/visits/new/?household={h.pk}")
    assert resp.status_code == 200, resp.content[:500]
    resp = c.post(
        "/visits/new/",
        {
            "household": h.pk,
            "purpose": "routine",
            "met": [r.pk],
            "temperature": "37.5",
            "systolic": "150",
            "diastolic": "95",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:3000]
    page = c.get(f"/residents/households/{h.pk}/").content.decode()
    assert "民情日记" in page and "体温偏高" in page
    assert "体温偏高" in c.get(f"/residents/{r.pk}/").content.decode()
    resp = c.post(
        "/visits/new/",
        {"household": h.pk, "purpose": "routine", "idempotency_key": "abcdefgh-1"},
        HTTP_ACCEPT="application/json",
    )
    assert resp.status_code == 201, resp.content
    resp = c.post(
        "/visits/new/",
        {"household": h.pk, "purpose": "routine", "idempotency_key": "abcdefgh-1"},
        HTTP_ACCEPT="application/json",
    )
    assert resp.status_code == 200 and resp.json()["replayed"]
    x = c.post("/visits/export/", {})
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd")
    staff = client_as("staff1").get("/visits/today/")
    assert staff.status_code == 200 and 'name="grid"' in staff.content.decode()  # staff filter by grid
    # The liaison may not see the readings another worker took (health data).
    liaison_home = persona("liaison1").dwellings.order_by("pk").first()
    theirs, _ = household_with(grid1, {}, dwelling=liaison_home)
    c.post("/visits/new/", {"household": theirs.pk, "purpose": "care", "temperature": "38.2"})
    page = client_as("liaison1").get(f"/residents/households/{theirs.pk}/").content.decode()
    assert "关爱探访" in page and "38.2" not in page


def test_refusals_name_the_field(client_as, persona):
    h, _ = household_with(persona("grid1"))
    c = client_as("grid1")
    resp = c.post("/visits/new/", {"household": h.pk, "purpose": "routine", "temperature": "50"})
    assert resp.status_code == 200 and "体温应在" in resp.content.decode()
    resp = c.post(
        "/visits/new/", {"household": h.pk, "purpose": "routine", "temperature": "50"}, HTTP_ACCEPT="application/json"
    )
    assert resp.status_code == 400 and resp.json()["field"] == "temperature"
    assert client_as("liaison1").get(f"/visits/new/?household={h.pk}").status_code == 404
    assert client_as("dept1").get("/visits/today/").status_code == 403


def test_a_liaison_sees_a_household_due_under_a_sensitive_tag_without_its_name(client_as, persona):
    import datetime

    from django.utils import timezone

    from minqing.registry.models import Household
    from minqing.visits import services
    from minqing.visits.tests.factories import empty_dwelling, tag

    grid1, liaison = persona("grid1"), persona("liaison1")
    dwelling = empty_dwelling(grid1.area)
    liaison.dwellings.add(dwelling)  # one more door in liaison1's care
    household, _ = household_with(grid1, {"tags": ["重点人员"]}, dwelling=dwelling)
    services.care_rule_set(
        actor=persona("admin1"),
        community=grid1.area.parent,
        tag=tag("重点人员"),
        interval_days=3,
        responsible="liaison",
    )
    Household.objects.filter(pk=household.pk).update(created_at=timezone.now() - datetime.timedelta(days=10))
    liaison_page = client_as("liaison1").get("/visits/today/").content.decode()
    row = liaison_page[liaison_page.index(f'data-household="{household.pk}"') :][:1500]
    assert "关爱对象" in row and "重点人员" not in row
    staff_page = client_as("staff1").get(f"/visits/today/?grid={grid1.area_id}").content.decode()
    assert "重点人员" in staff_page[staff_page.index(f'data-household="{household.pk}"') :][:1500]


def test_staff_see_the_same_number_above_the_list_and_in_the_table_by_grid(client_as, persona):
    grid1, grid2 = persona("grid1"), persona("grid2")
    month_ago = timezone.now() - datetime.timedelta(days=20)
    for worker in (grid1, grid1, grid2):
        household, _ = household_with(worker, {"tags": ["独居老人"], "age": 70})
        services.visit_log(actor=worker, household=household, visited_at=month_ago)
    for username in ("staff1", "district1"):
        user = persona(username)
        due = selectors.due_for(user).count()
        table = selectors.due_summary_by_grid(user)
        assert due >= 2 and due == sum(row["overdue"] + row["due_today"] for row in table)
        page = client_as(username).get("/visits/today/").content.decode()
        assert f"应走访 {due} 户" in page
