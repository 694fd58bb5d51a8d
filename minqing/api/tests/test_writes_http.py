"""Writes over HTTP go through the same services as the pages: a community admin creates, renames,
bounds a grid; district staff move and retire it; a building is handed to another grid and back.
A role without the capability gets 403, an object out of scope 404, a bad value the field's name.
Each test works on a grid it creates, or puts back what it moved."""

import uuid

import pytest

from minqing.api.tests.support import shell_json

JIAHE, XINGAN, HENGDA = "150603001001", "150603001002", "150603002001"


def _square(x: float = 109.9, y: float = 39.7) -> dict:
    ring = [[x, y], [x + 0.002, y], [x + 0.002, y + 0.002], [x, y + 0.002], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def areas(api) -> dict[str, dict]:
    """The district's areas by code, as district staff see them."""
    items = api.all_items("/api/v1/areas", api.token("district1"))
    return {a["code"]: a for a in items}


def _history(live_app, model: str, pk: int) -> list[str]:
    return shell_json(
        live_app,
        f"""
        from minqing.areas.models import {model}
        emit([h.history_type for h in {model}.history.filter(id={pk}).order_by("history_date", "history_id")])
        """,
    )


def _audit(live_app, target_type: str, pk: int) -> list[list[str]]:
    return shell_json(
        live_app,
        f"""
        from minqing.core.models import AuditEntry
        emit([[e.action, e.actor_name] for e in
              AuditEntry.objects.filter(target_type={target_type!r}, target_id="{pk}").order_by("at", "pk")])
        """,
    )


def test_roles_without_manage_places_get_403_and_out_of_scope_404(api, areas):
    grid1 = api.token("grid1")
    own_grid, other_grid = areas[f"{JIAHE}-G01"]["id"], areas[f"{HENGDA}-G01"]["id"]
    forbidden = {"code": "forbidden", "message": "当前角色无权执行此操作", "field": None}
    for method, path, body in (
        ("POST", f"/api/v1/areas/{own_grid}/retire", {}),
        ("PATCH", f"/api/v1/areas/{own_grid}", {"name": "改名"}),
        ("POST", f"/api/v1/areas/{own_grid}/move", {"parent": areas[XINGAN]["id"]}),
        ("POST", "/api/v1/areas", {"parent": areas[JIAHE]["id"], "level": "grid", "code": "X-1", "name": "新网格"}),
    ):
        reply = api.request(method, path, token=grid1, json_body=body)
        assert (reply.status, reply.json()) == (403, forbidden), path
    street1 = api.token("street1")
    assert api.patch(f"/api/v1/areas/{own_grid}", {"name": "改名"}, street1).status == 403
    # Out of scope: the same 404 as a missing id, before any question of role.
    missing = api.post("/api/v1/areas/987654321/retire", {}, grid1)
    assert missing.status == 404
    for token in (grid1, api.token("admin1")):
        hidden = api.post(f"/api/v1/areas/{other_grid}/retire", {}, token)
        assert (hidden.status, hidden.text) == (missing.status, missing.text)
    building = api.get(f"/api/v1/buildings?grid={own_grid}", api.token("district1")).json()["items"][0]
    hidden = api.post(f"/api/v1/buildings/{building['id']}/move", {"grid": other_grid}, api.token("grid2"))
    assert hidden.status == 404
    assert api.post(f"/api/v1/buildings/{building['id']}/move", {"grid": other_grid}, grid1).status == 403
    # Nothing changed.
    assert api.get(f"/api/v1/areas/{own_grid}", grid1).json()["retired_at"] is None


def test_grid_lifecycle_through_the_api(api, live_app, areas):
    admin1, district1 = api.token("admin1"), api.token("district1")
    code = f"{JIAHE}-T{uuid.uuid4().hex[:6]}"
    created = api.post(
        "/api/v1/areas",
        {"parent": areas[JIAHE]["id"], "level": "grid", "code": code, "name": "接口新建网格", "boundary": _square()},
        admin1,
    )
    assert created.status == 201, created.text
    grid = created.json()
    assert (grid["level"], grid["code"], grid["parent_id"], grid["has_boundary"]) == (
        "grid",
        code,
        areas[JIAHE]["id"],
        True,
    )
    assert [a["name"] for a in grid["ancestors"]] == ["嘉和社区"]
    listed = api.get(f"/api/v1/areas?parent={areas[JIAHE]['id']}&level=grid", admin1).json()
    assert grid["id"] in {a["id"] for a in listed["items"]}

    renamed = api.patch(f"/api/v1/areas/{grid['id']}", {"name": "接口改名网格"}, admin1)
    assert renamed.status == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["code"], renamed.json()["has_boundary"]) == (
        "接口改名网格",
        code,
        True,
    )
    cleared = api.patch(f"/api/v1/areas/{grid['id']}", {"boundary": None}, admin1).json()
    assert (cleared["has_boundary"], cleared["name"]) == (False, "接口改名网格")
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    invalid = api.patch(f"/api/v1/areas/{grid['id']}", {"boundary": bowtie}, admin1)
    assert (invalid.status, invalid.json()["field"]) == (400, "boundary")
    taken = api.patch(f"/api/v1/areas/{grid['id']}", {"code": f"{JIAHE}-G01"}, admin1)
    assert (taken.status, taken.json()["code"], taken.json()["field"]) == (400, "invalid", "code")

    # A community admin cannot move the grid out of the community; district staff can.
    away = api.post(f"/api/v1/areas/{grid['id']}/move", {"parent": areas[XINGAN]["id"]}, admin1)
    assert (away.status, away.json()["field"]) == (400, "parent")
    moved = api.post(f"/api/v1/areas/{grid['id']}/move", {"parent": areas[XINGAN]["id"]}, district1)
    assert moved.status == 200, moved.text
    assert moved.json()["parent_id"] == areas[XINGAN]["id"]
    assert [a["name"] for a in moved.json()["ancestors"]] == ["民安区", "康新街道", "兴安南路社区"]
    # Now outside the admin's community: gone for them, exactly like a missing id.
    assert api.get(f"/api/v1/areas/{grid['id']}", admin1).status == 404

    retired = api.post(f"/api/v1/areas/{grid['id']}/retire", {}, district1)
    assert retired.status == 200, retired.text
    assert retired.json()["retired_at"] is not None
    default = api.get(f"/api/v1/areas?parent={areas[XINGAN]['id']}&limit=500", district1).json()
    assert grid["id"] not in {a["id"] for a in default["items"]}
    with_retired = api.get(f"/api/v1/areas?parent={areas[XINGAN]['id']}&include_retired=true", district1).json()
    assert grid["id"] in {a["id"] for a in with_retired["items"]}

    assert _audit(live_app, "areas.area", grid["id"]) == [
        ["area.create", "admin1"],
        ["area.update", "admin1"],
        ["area.update", "admin1"],
        ["area.move", "district1"],
        ["area.retire", "district1"],
    ]
    assert _history(live_app, "Area", grid["id"])[0] == "+"


def test_building_moves_to_another_grid_and_back(api, live_app, areas):
    admin1 = api.token("admin1")
    g02, g03 = areas[f"{JIAHE}-G02"]["id"], areas[f"{JIAHE}-G03"]["id"]
    building = api.get(f"/api/v1/buildings?grid={g03}", admin1).json()["items"][0]
    try:
        moved = api.post(f"/api/v1/buildings/{building['id']}/move", {"grid": g02}, admin1)
        assert moved.status == 200, moved.text
        assert moved.json()["grid"] == {"id": g02, "name": "嘉和社区第2网格"}
        assert building["id"] in {b["id"] for b in api.get(f"/api/v1/buildings?grid={g02}", admin1).json()["items"]}
        same = api.post(f"/api/v1/buildings/{building['id']}/move", {"grid": g02}, admin1)
        assert (same.status, same.json()["field"]) == (400, "grid")
        foreign = api.post(f"/api/v1/buildings/{building['id']}/move", {"grid": areas[f"{HENGDA}-G01"]["id"]}, admin1)
        assert (foreign.status, foreign.json()["field"]) == (400, "grid")
        community = api.post(f"/api/v1/buildings/{building['id']}/move", {"grid": areas[JIAHE]["id"]}, admin1)
        assert (community.status, community.json()["field"]) == (400, "grid")
    finally:
        back = api.post(f"/api/v1/buildings/{building['id']}/move", {"grid": g03}, admin1)
        assert back.status == 200, back.text
    assert back.json()["grid"]["id"] == g03
    assert [a for a, _ in _audit(live_app, "areas.building", building["id"])][-2:] == [
        "building.move",
        "building.move",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": "grid", "code": "X-2", "name": "新网格"}, "parent"),
        ({"parent": 0, "level": "grid", "code": "X-2", "name": "新网格"}, "parent"),
        ({"parent": 4, "level": "street", "code": "X-2", "name": "新网格"}, "level"),
        ({"parent": 4, "level": "grid", "code": "X-2"}, "name"),
        ({"parent": 4, "level": "grid", "code": "X" * 33, "name": "新网格"}, "code"),
        ({"parent": 4, "level": "grid", "code": "X-2", "name": "新网格", "boundary": {"type": "Point"}}, "boundary"),
        ({"parent": 4, "level": "grid", "code": "X-2", "name": "新网格", "colour": "red"}, "colour"),
    ],
)
def test_invalid_body_is_422_naming_the_field(api, body, field):
    reply = api.post("/api/v1/areas", body, api.token("admin1"))
    assert reply.status == 422, reply.text
    assert (reply.json()["code"], reply.json()["field"]) == ("invalid", field)
    assert reply.json()["message"].startswith(f"{field}：")


def test_service_rule_errors_name_the_field(api, areas):
    """Rules that live in the services (levels, uniqueness, scope of the parent) come back as 400 with
    the field, from the same code the pages call."""
    admin1 = api.token("admin1")
    jiahe = areas[JIAHE]["id"]
    community = {"parent": jiahe, "level": "community", "code": "X-3", "name": "新"}
    wrong_level = api.post("/api/v1/areas", community, admin1)
    assert (wrong_level.status, wrong_level.json()["field"]) == (400, "parent")
    other = areas[HENGDA]["id"]
    hidden_parent = api.post("/api/v1/areas", {"parent": other, "level": "grid", "code": "X-3", "name": "新"}, admin1)
    assert (hidden_parent.status, hidden_parent.json()["field"]) == (400, "parent")
    duplicate = api.post(
        "/api/v1/areas", {"parent": jiahe, "level": "grid", "code": f"{JIAHE}-G01", "name": "新"}, admin1
    )
    assert (duplicate.status, duplicate.json()["field"]) == (400, "code")
    blank = api.post("/api/v1/areas", {"parent": jiahe, "level": "grid", "code": "X-3", "name": "   "}, admin1)
    assert (blank.status, blank.json()["field"]) == (400, "name")
    not_a_grid = api.patch(f"/api/v1/areas/{jiahe}", {"boundary": _square()}, admin1)
    assert (not_a_grid.status, not_a_grid.json()["field"]) == (400, "boundary")
