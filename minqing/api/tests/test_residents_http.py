"""Residents, households and tags over HTTP, as an integration or the 12345 hotline sees them: masked
identifiers in every answer but the one reveal (audited: who, whose, when, why), health data only for
roles that need it, scope and role answered as on the pages, search by pinyin, exact ID and phone,
tag (the 高龄 age tag included) and grid, and bad input named by its field.

The residents are registered through the services in the live server's own database (grid workers of
two communities), with identifiers no other record has."""

import unicodedata
from urllib.parse import urlencode

import pytest

from minqing.api.tests.support import shell_json

FORBIDDEN = {"code": "forbidden", "message": "当前角色无权执行此操作", "field": None}
MISSING_ID = 987654321

SETUP = """
from minqing.accounts.models import User
from minqing.areas.models import Dwelling
from minqing.registry import services
from minqing.registry.idnumbers import check_character
from minqing.registry.models import Resident, Tag
from minqing.core.pii import pii_hash

def free_id(birth, want_x=False):
    for seq in range(900, 1000):
        first17 = "150603" + birth + str(seq)
        number = first17 + check_character(first17)
        if want_x != number.endswith("X"):
            continue
        if not Resident.objects.filter(id_number_hash=pii_hash(number, "id_number")).exists():
            return number
    raise AssertionError("no free ID number")

grid1, grid2, liaison1 = (User.objects.get(username=u) for u in ("grid1", "grid2", "liaison1"))
inside = liaison1.dwellings.order_by("pk").first()
outside = Dwelling.objects.filter(building__grid=grid1.area).exclude(
    pk__in=liaison1.dwellings.values("pk")).order_by("pk").first()
far = Dwelling.objects.filter(building__grid=grid2.area).order_by("pk").first()
spare = Dwelling.objects.filter(building__grid=grid1.area).exclude(
    pk__in=[inside.pk, outside.pk]).order_by("-pk").first()
old = services.resident_create(actor=grid1, dwelling=inside, data={
    "name": "张杰", "id_number": free_id("19400305", want_x=True), "phone": "13700001234",
    "health_notes": "高血压，行动不便"})
services.resident_set_tags(actor=grid1, resident=old, tags=[
    {"tag": Tag.objects.get(name="残疾", community=None).pk, "grade": 2, "detail": "肢体"},
    {"tag": Tag.objects.get(name="独居老人", community=None).pk}])
young = services.resident_create(actor=grid1, dwelling=outside, data={
    "name": "张娟", "id_number": free_id("19850611"), "phone": "13900005678"})
other = services.resident_create(actor=grid2, dwelling=far, data={
    "name": "张伟", "id_number": free_id("19700101"), "phone": "13600009999"})
emit({
    "old": {"id": old.pk, "id_number": old.id_number, "phone": old.phone, "household": old.household_id},
    "young": {"id": young.pk, "id_number": young.id_number, "phone": young.phone},
    "other": {"id": other.pk, "id_number": other.id_number, "phone": other.phone, "household": other.household_id},
    "grid1": grid1.area_id, "grid2": grid2.area_id, "jiahe": grid1.area.parent_id, "hengda": grid2.area.parent_id,
    "spare": spare.pk, "inside": inside.pk,
    "gaoling": Tag.objects.get(name="高龄", community=None).pk,
    "disability": Tag.objects.get(name="残疾", community=None).pk,
})
"""


@pytest.fixture(scope="module")
def people(live_app):
    return shell_json(live_app, SETUP)


@pytest.fixture(scope="module")
def clear_values(people) -> list[str]:
    """Every full identifier of the module's residents: none may appear in an answer but a reveal."""
    return [people[k][f] for k in ("old", "young", "other") for f in ("id_number", "phone")]


def assert_masked(reply, clear_values):
    assert reply.status < 500, reply.text
    for value in clear_values:
        assert value not in reply.text, value
        assert value.lower() not in reply.text.lower(), value


def ids(reply) -> set[int]:
    """The residents of one page (the demo has namesakes: compare records, not names)."""
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["count"] >= len(body["items"])
    return {item["id"] for item in body["items"]}


def test_no_answer_carries_a_full_identifier(api, people, clear_values):
    old, other = people["old"], people["other"]
    replies = []
    for username in ("grid1", "liaison1", "staff1", "street1", "district1", "grid2"):
        token = api.token(username)
        replies += [
            api.get("/api/v1/residents?limit=500", token),
            api.get("/api/v1/residents?status=all&q=zhang", token),
            api.get(f"/api/v1/residents?id_number={old['id_number']}", token),
            api.get(f"/api/v1/residents?phone={old['phone']}", token),
            api.get(f"/api/v1/residents?q={other['phone']}", token),
            api.get(f"/api/v1/residents/{old['id']}", token),
            api.get(f"/api/v1/residents/{other['id']}", token),
            api.get("/api/v1/households?limit=500", token),
            api.get(f"/api/v1/households/{old['household']}", token),
        ]
    for reply in replies:
        assert_masked(reply, clear_values)
    detail = api.get(f"/api/v1/residents/{old['id']}", api.token("grid1")).json()
    number = old["id_number"]
    assert detail["id_number_masked"] == number[:4] + "*" * 10 + number[-4:]
    assert detail["phone_masked"] == "137****1234"
    assert "id_number" not in detail and "phone" not in detail
    found = api.get(f"/api/v1/residents?id_number={number}", api.token("district1")).json()
    assert [r["id"] for r in found["items"]] == [old["id"]]
    assert found["items"][0]["id_number_masked"] == detail["id_number_masked"]


def test_reveal_gives_one_value_for_a_reason_and_is_audited(api, live_app, people, clear_values):
    old = people["old"]
    path = f"/api/v1/residents/{old['id']}/reveal"
    # A liaison holds no full identifiers: 403 whatever the record.
    for pk in (old["id"], MISSING_ID):
        reply = api.post(f"/api/v1/residents/{pk}/reveal", {"field": "phone", "reason": "回访"}, api.token("liaison1"))
        assert (reply.status, reply.json()) == (403, FORBIDDEN)
    # Another community's grid worker may reveal, but not this record: the same 404 as a missing one.
    missing = api.post(
        f"/api/v1/residents/{MISSING_ID}/reveal", {"field": "phone", "reason": "回访"}, api.token("grid2")
    )
    hidden = api.post(path, {"field": "phone", "reason": "回访"}, api.token("grid2"))
    assert missing.status == 404 and (hidden.status, hidden.text) == (missing.status, missing.text)
    grid1 = api.token("grid1")
    no_reason = api.post(path, {"field": "phone", "reason": " "}, grid1)
    assert (no_reason.status, no_reason.json()["field"]) == (400, "reason")
    wrong_field = api.post(path, {"field": "health_notes", "reason": "回访"}, grid1)
    assert (wrong_field.status, wrong_field.json()["field"]) == (422, "field")
    assert_masked(no_reason, clear_values)
    assert_masked(wrong_field, clear_values)
    revealed = api.post(path, {"field": "id_number", "reason": "办理高龄津贴核对身份"}, grid1)
    assert revealed.status == 200
    assert revealed.json() == {"field": "id_number", "value": old["id_number"]}
    phone = api.post(path, {"field": "phone", "reason": "电话回访"}, api.token("street1"))
    assert phone.json() == {"field": "phone", "value": old["phone"]}
    entries = shell_json(
        live_app,
        """
        from minqing.core.models import AuditEntry
        emit([[e.actor_name, e.target_type, e.target_id, e.target_label, e.data, bool(e.at)]
              for e in AuditEntry.objects.filter(action="resident.reveal").order_by("pk")])
        """,
    )
    whose = ["registry.resident", str(old["id"]), "张杰"]
    assert ["grid1", *whose, {"field": "id_number", "reason": "办理高龄津贴核对身份"}, True] in entries
    assert ["street1", *whose, {"field": "phone", "reason": "电话回访"}, True] in entries
    # Refused asks leave no entry.
    assert all(e[0] in ("grid1", "street1") for e in entries if e[2] == str(old["id"]))


def test_health_and_sensitive_tags_only_for_roles_that_need_them(api, people):
    old = people["old"]
    grid1 = api.get(f"/api/v1/residents/{old['id']}", api.token("grid1")).json()
    assert grid1["health_notes"] == "高血压，行动不便"
    tags = {t["name"]: t for t in grid1["tags"]}
    assert set(tags) == {"残疾（肢体2级）", "独居老人", "高龄"}
    assert tags["残疾（肢体2级）"]["sensitive"] and tags["高龄"]["automatic"] and not tags["独居老人"]["automatic"]
    liaison = api.get(f"/api/v1/residents/{old['id']}", api.token("liaison1"))
    assert liaison.status == 200
    assert liaison.json()["health_notes"] is None
    assert {t["name"] for t in liaison.json()["tags"]} == {"独居老人", "高龄"}
    assert "高血压" not in liaison.text and "残疾" not in liaison.text
    listed = api.get("/api/v1/residents?q=zhangjie", api.token("liaison1"))
    assert "残疾" not in listed.text and "高血压" not in listed.text
    visible = {t["name"] for t in api.all_items("/api/v1/tags", api.token("liaison1"))}
    assert "独居老人" in visible and "残疾" not in visible and "慢性病" not in visible
    assert "残疾" in {t["name"] for t in api.all_items("/api/v1/tags", api.token("grid1"))}
    # A tag one may not see finds nothing rather than everyone.
    by_hidden_tag = api.get(f"/api/v1/residents?tag={people['disability']}", api.token("liaison1")).json()
    assert by_hidden_tag == {"count": 0, "items": []}
    by_tag = api.get(f"/api/v1/residents?tag={people['disability']}", api.token("grid1")).json()
    assert old["id"] in [r["id"] for r in by_tag["items"]]


def test_search_by_pinyin_id_phone_tag_and_grid(api, people):
    grid1 = api.token("grid1")
    old, young, other = people["old"]["id"], people["young"]["id"], people["other"]["id"]
    assert {old, young} <= ids(api.get("/api/v1/residents?q=zj&limit=500", grid1))
    by_full = ids(api.get("/api/v1/residents?q=zhangjie&limit=500", grid1))
    assert old in by_full and young not in by_full
    assert other not in ids(api.get("/api/v1/residents?q=zhang&limit=500", grid1))  # another community
    number = people["old"]["id_number"]
    assert number.endswith("X")
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number.lower())  # typed on a phone
    assert unicodedata.normalize("NFKC", full_width) == number.lower()
    for key, value in (
        ("q", number.lower()),
        ("id_number", number.lower()),
        ("q", full_width),
        ("id_number", full_width),
        ("phone", "137-0000-1234"),
        ("q", "137-0000-1234"),
        ("phone", "+86 137 0000 1234"),
    ):
        reply = api.get(f"/api/v1/residents?{urlencode({key: value})}", grid1)
        assert [r["id"] for r in reply.json()["items"]] == [old], (key, value)
    # Exact and within scope: another community's resident's phone finds nothing here.
    assert api.get(f"/api/v1/residents?phone={people['other']['phone']}", grid1).json()["count"] == 0
    aged = api.all_items(f"/api/v1/residents?tag={people['gaoling']}", grid1)
    assert old in {r["id"] for r in aged} and young not in {r["id"] for r in aged}
    assert aged and all("高龄" in {t["name"] for t in r["tags"]} for r in aged)  # search and display agree
    in_grid = {r["id"] for r in api.all_items(f"/api/v1/residents?grid={people['grid1']}", grid1)}
    assert {old, young} <= in_grid
    assert api.get(f"/api/v1/residents?grid={people['grid2']}", grid1).json() == {"count": 0, "items": []}
    ages = ids(api.get("/api/v1/residents?q=zhang&age_min=30&age_max=50&limit=500", grid1))
    assert young in ages and old not in ages
    # The liaison sees the resident of their dwelling, not the one next door.
    liaison = ids(api.get("/api/v1/residents?q=zj&limit=500", api.token("liaison1")))
    assert old in liaison and young not in liaison


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ("age_min=-1", "age_min", 422),
        ("age_max=abc", "age_max", 422),
        ("age_min=60&age_max=30", "age_max", 400),
        ("status=gone", "status", 422),
        ("registration_type=tourist", "registration_type", 422),
        ("grid=0", "grid", 422),
        ("tag=x", "tag", 422),
        ("limit=501", "limit", 422),
    ],
)
def test_bad_filters_name_the_field(api, query, field, status):
    reply = api.get(f"/api/v1/residents?{query}", api.token("grid1"))
    assert reply.status == status, reply.text
    assert reply.json()["field"] == field and reply.json()["code"] == "invalid"


def test_roles_and_scope_for_writes(api, people):
    old, other = people["old"], people["other"]
    body = {"name": "王芳", "dwelling": people["inside"]}
    for username in ("liaison1", "street1", "district1"):
        token = api.token(username)
        for method, path, payload in (
            ("POST", "/api/v1/residents", body),
            ("PATCH", f"/api/v1/residents/{old['id']}", {"occupation": "退休"}),
            ("POST", f"/api/v1/residents/{old['id']}/actions/decease", {"occurred_on": "2026-11-01"}),
            ("PUT", f"/api/v1/residents/{old['id']}/tags", {"tags": []}),
        ):
            reply = api.request(method, path, token=token, json_body=payload)
            assert (reply.status, reply.json()) == (403, FORBIDDEN), (username, path)
    assert api.post("/api/v1/tags", {"name": "新标签"}, api.token("grid1")).status == 403
    assert api.get("/api/v1/residents", api.token("dept1")).status == 403
    assert api.get("/api/v1/households", api.token("dept1")).status == 403
    # Out of scope answers exactly as missing.
    grid1 = api.token("grid1")
    for method, path, payload in (
        ("GET", "/api/v1/residents/{}", None),
        ("PATCH", "/api/v1/residents/{}", {"occupation": "退休"}),
        ("POST", "/api/v1/residents/{}/actions/move_out", {"occurred_on": "2026-11-01", "destination": "北京"}),
        ("PUT", "/api/v1/residents/{}/tags", {"tags": []}),
    ):
        missing = api.request(method, path.format(MISSING_ID), token=grid1, json_body=payload)
        hidden = api.request(method, path.format(other["id"]), token=grid1, json_body=payload)
        assert missing.status == 404, path
        assert (hidden.status, hidden.text) == (missing.status, missing.text), path
    missing = api.get(f"/api/v1/households/{MISSING_ID}", grid1)
    hidden = api.get(f"/api/v1/households/{other['household']}", grid1)
    assert missing.status == 404 and (hidden.status, hidden.text) == (missing.status, missing.text)
    # A household named in a body: out of scope is that field's error, like a missing one.
    joined = api.post("/api/v1/residents", {"name": "王芳", "household": other["household"]}, grid1)
    assert (joined.status, joined.json()["field"]) == (400, "household")
    assert "张伟" not in joined.text


def test_register_change_and_move_a_resident(api, people, live_app, clear_values):
    grid1 = api.token("grid1")
    bad = api.post(
        "/api/v1/residents", {"name": "刘洋", "dwelling": people["spare"], "id_number": "150603199001011235"}, grid1
    )
    assert (bad.status, bad.json()["field"]) == (400, "id_number")
    assert api.post("/api/v1/residents", {"name": "刘洋"}, grid1).json()["field"] == "dwelling"
    assert api.post("/api/v1/residents", {"dwelling": people["spare"]}, grid1).json()["field"] == "name"
    taken = api.post(
        "/api/v1/residents",
        {"name": "张三", "dwelling": people["spare"], "id_number": people["other"]["id_number"]},
        grid1,
    )
    assert (taken.status, taken.json()["code"], taken.json()["field"]) == (400, "id_number_taken", "id_number")
    assert_masked(taken, clear_values)
    created = api.post(
        "/api/v1/residents",
        {
            "name": "刘洋",
            "dwelling": people["spare"],
            "birth_date": "1990-01-01",
            "phone": "139 1111 2222",
            "relation": "户主",
            "moved_in_on": "2020-05-01",
        },
        grid1,
    )
    assert created.status == 201, created.text
    person = created.json()
    assert (person["name"], person["relation"], person["phone_masked"], person["age"] >= 36) == (
        "刘洋",
        "head",
        "139****2222",
        True,
    )
    assert "13911112222" not in created.text
    pk, household = person["id"], person["household_id"]
    baby = api.post(
        "/api/v1/residents",
        {"name": "刘小宝", "household": household, "relation": "子", "birth_date": "2025-06-01"},
        grid1,
    )
    assert baby.status == 201 and baby.json()["relation"] == "son" and baby.json()["household_id"] == household
    changed = api.patch(f"/api/v1/residents/{pk}", {"occupation": "教师", "ethnicity": "蒙古族"}, grid1)
    assert changed.status == 200, changed.text
    assert (changed.json()["occupation"], changed.json()["ethnicity"], changed.json()["ethnicity_label"]) == (
        "教师",
        "02",
        "蒙古族",
    )
    assert changed.json()["phone_masked"] == "139****2222"  # untouched
    assert api.patch(f"/api/v1/residents/{pk}", {"ethnicity": "火星族"}, grid1).json()["field"] == "ethnicity"
    tagged = api.put(f"/api/v1/residents/{pk}/tags", {"tags": [{"tag": people["gaoling"]}]}, grid1)
    assert (tagged.status, tagged.json()["field"]) == (400, "tags")
    home = api.get(f"/api/v1/households/{household}", grid1).json()
    assert {m["name"] for m in home["members"]} == {"刘洋", "刘小宝"}
    assert home["staff"]["grid_workers"]  # the grid's worker looks after it
    moved = api.post(
        f"/api/v1/residents/{pk}/actions/move_out", {"occurred_on": "2026-11-01", "destination": "呼和浩特市"}, grid1
    )
    assert moved.status == 200, moved.text
    assert (moved.json()["status"], moved.json()["left_to"]) == ("moved_out", "呼和浩特市")
    assert api.get(f"/api/v1/residents/{pk}", grid1).json()["status"] == "moved_out"
    assert pk not in [r["id"] for r in api.get("/api/v1/residents?q=liuyang", grid1).json()["items"]]
    assert pk in [r["id"] for r in api.get("/api/v1/residents?q=liuyang&status=moved_out", grid1).json()["items"]]
    early = api.post(f"/api/v1/residents/{pk}/actions/return", {"occurred_on": "2026-10-01"}, grid1)
    assert (early.status, early.json()["field"]) == (400, "occurred_on")
    back = api.post(f"/api/v1/residents/{pk}/actions/return", {"occurred_on": "2026-11-05"}, grid1)
    assert back.json()["status"] == "active"
    moved_on = api.post(
        f"/api/v1/residents/{pk}/actions/change_dwelling",
        {"occurred_on": "2026-11-06", "dwelling": people["inside"]},
        grid1,
    )
    assert moved_on.status == 200, moved_on.text
    assert moved_on.json()["dwelling"]["id"] == people["inside"]
    assert [e["kind"] for e in moved_on.json()["events"]] == [
        "dwelling_changed",
        "returned",
        "moved_out",
        "moved_in",
    ]
    died = api.post(f"/api/v1/residents/{pk}/actions/decease", {"occurred_on": "2026-11-07"}, grid1)
    assert died.json()["status"] == "deceased"
    again = api.patch(f"/api/v1/residents/{pk}", {"occupation": "退休"}, grid1)
    assert (again.status, again.json()["field"]) == (400, "status")
    bad_date = api.post(f"/api/v1/residents/{baby.json()['id']}/actions/decease", {"occurred_on": "2026-13-01"}, grid1)
    assert (bad_date.status, bad_date.json()["field"]) == (422, "occurred_on")


def test_community_tags(api, people):
    admin1 = api.token("admin1")
    made = api.post("/api/v1/tags", {"community": people["jiahe"], "name": "志愿者骨干"}, admin1)
    assert made.status == 201, made.text
    tag = made.json()
    assert tag["community"]["id"] == people["jiahe"] and tag["sensitive"] is False
    again = api.post("/api/v1/tags", {"community": people["jiahe"], "name": "志愿者骨干"}, admin1)
    assert (again.status, again.json()["field"]) == (400, "name")
    elsewhere = api.post("/api/v1/tags", {"community": people["hengda"], "name": "外区标签"}, admin1)
    assert (elsewhere.status, elsewhere.json()["field"]) == (400, "community")
    no_name = api.post("/api/v1/tags", {"community": people["jiahe"]}, admin1)
    assert (no_name.status, no_name.json()["field"]) == (422, "name")
    assert tag["id"] in [t["id"] for t in api.all_items("/api/v1/tags", api.token("grid1"))]
    assert tag["id"] not in [t["id"] for t in api.all_items("/api/v1/tags", api.token("grid2"))]


def test_an_integration_key_acts_with_its_role_and_area(api, live_app, people, clear_values):
    """The 12345 hotline's key, as a subdistrict's staff: its subdistrict's residents, masked; a reveal
    is audited under the key's service account."""
    issued = shell_json(
        live_app,
        """
        from minqing.accounts.models import User
        from minqing.accounts.services import integration_key_issue
        from minqing.areas.models import Area
        token, key = integration_key_issue(
            actor=User.objects.get(username="district1"), name="12345 热线",
            role="subdistrict_staff", area=Area.objects.get(code="150603001"),
        )
        emit({"key": key, "username": token.user.username})
        """,
    )
    key, old, other = issued["key"], people["old"], people["other"]
    found = api.get(f"/api/v1/residents?phone={old['phone']}", key)
    assert [r["id"] for r in found.json()["items"]] == [old["id"]]
    assert api.get(f"/api/v1/residents?phone={other['phone']}", key).json()["count"] == 0
    assert api.get(f"/api/v1/residents/{other['id']}", key).status == 404
    assert_masked(found, clear_values)
    assert_masked(api.get(f"/api/v1/residents/{old['id']}", key), clear_values)
    assert api.post("/api/v1/residents", {"name": "王芳", "dwelling": people["inside"]}, key).status == 403
    revealed = api.post(f"/api/v1/residents/{old['id']}/reveal", {"field": "phone", "reason": "12345 工单回访"}, key)
    assert revealed.json()["value"] == old["phone"]
    audited = shell_json(
        live_app,
        """
        from minqing.core.models import AuditEntry
        e = AuditEntry.objects.filter(action="resident.reveal").latest("pk")
        emit([e.actor_name, e.target_id, e.data["reason"]])
        """,
    )
    assert audited == [issued["username"], str(old["id"]), "12345 工单回访"]
