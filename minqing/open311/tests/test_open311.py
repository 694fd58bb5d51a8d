"""In-process checks of the Open311 layer that need no live server: masking of personal data in free
text, the query budget of a list, the grid lookup of a point, and a method the resource lacks."""

import pytest

from minqing.accounts.demo import DEMO_HOTLINE_KEY
from minqing.areas.selectors import grid_at
from minqing.open311.serializers import redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("联系电话13947712345", "联系电话139****2345"),
        ("电话 139-4771-2345，谢谢", "电话 139****2345，谢谢"),
        ("+86 13947712345", "139****2345"),
        ("座机0477-8581234", "座机0477-****234"),
        ("身份证150602199001011234号", "身份证1506**********1234号"),
        ("身份证15060219900101123x", "身份证1506**********123x"),
        ("3号楼2单元楼道堆放纸箱", "3号楼2单元楼道堆放纸箱"),  # ordinary numbers stay
        ("订单号 202611240001", "订单号 202611240001"),
    ],
)
def test_phones_and_id_numbers_in_text_leave_masked(text, shown):
    assert redact(text) == shown


def test_a_point_finds_its_grid_within_the_scope(persona):
    district, grid2 = persona("district1"), persona("grid2")
    found = grid_at(district, latitude=39.6017, longitude=109.7817)
    assert found is not None and found.name == "嘉和社区第1网格"
    # The same point is outside grid2's scope, and a point outside every square finds nothing.
    assert grid_at(grid2, latitude=39.6017, longitude=109.7817) is None
    assert grid_at(district, latitude=40.5, longitude=111.0) is None


def test_the_request_list_has_a_query_budget(client, db, django_assert_max_num_queries):
    # Key lookup, its last-used stamp, the list with its last-step times, and the public notes: a
    # fixed number of queries whatever the number of demands.
    with django_assert_max_num_queries(5):
        reply = client.get("/open311/v2/requests.json", {"api_key": DEMO_HOTLINE_KEY})
    assert reply.status_code == 200
    assert len(reply.json()) >= 16


def test_a_method_the_resource_lacks_is_405_in_the_spec_format(client, db):
    reply = client.post("/open311/v2/services.xml")
    assert reply.status_code == 405 and reply["Allow"] == "GET"
    assert b"<errors><error><code>405</code>" in reply.content


def test_dates_of_a_request_search_are_checked_and_named(client, db):
    key = {"api_key": DEMO_HOTLINE_KEY}
    too_long = client.get(
        "/open311/v2/requests.json", {**key, "start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01"}
    )
    assert too_long.status_code == 400 and too_long.json()[0]["description"].startswith("end_date")
    garbled = client.get("/open311/v2/requests.json", {**key, "start_date": "yesterday"})
    assert garbled.status_code == 400 and garbled.json()[0]["description"].startswith("start_date")
    future = client.get("/open311/v2/requests.json", {**key, "start_date": "2099-01-01T00:00:00Z"})
    assert future.status_code == 200 and future.json() == []


def test_a_department_key_reads_its_units_demands_but_files_none(client, persona, db):
    from minqing.accounts.models import ApiToken

    dept1 = persona("dept1")
    ApiToken.objects.create(user=dept1, kind="integration", key_hash=ApiToken.hash_key("dept-key"), prefix="dept-key")
    listed = client.get("/open311/v2/requests.json", {"api_key": "dept-key"}).json()
    assert "民安供电公司" in {r["agency_responsible"] for r in listed}
    filed = client.post(
        "/open311/v2/requests.xml",
        {"api_key": "dept-key", "service_code": "2", "description": "停电", "address_string": "嘉和苑"},
    )
    assert filed.status_code == 403 and b"<description>api_key: " in filed.content
