"""What every client of /api/v1/ relies on, over HTTP: the OpenAPI schema and its docs page (served
without a CDN), one JSON error body for 401/404/405/422, paging with limit and offset, /me."""

import re

import pytest

OPERATIONS = {
    "auth_token",
    "me",
    "areas_list",
    "areas_get",
    "areas_create",
    "areas_update",
    "areas_move",
    "areas_retire",
    "estates_list",
    "estates_get",
    "buildings_list",
    "buildings_get",
    "buildings_move",
    "units_list",
    "units_get",
    "dwellings_list",
    "dwellings_get",
    "users_list",
    "users_get",
    "departments_list",
    "residents_list",
    "residents_get",
    "residents_create",
    "residents_update",
    "residents_move_out",
    "residents_decease",
    "residents_change_dwelling",
    "residents_return",
    "residents_set_tags",
    "residents_reveal",
    "households_list",
    "households_get",
    "tags_list",
    "tags_create",
    "tickets_categories",
    "tickets_create",
    "tickets_list",
    "tickets_get",
    "tickets_act",
    "visits_create",
    "visits_due",
}


def test_openapi_schema_lists_every_operation_with_bearer_auth(api):
    reply = api.get("/api/v1/openapi.json")
    assert reply.status == 200
    schema = reply.json()
    assert schema["info"]["title"] == "民情 接口"
    assert "Bearer" in schema["info"]["description"]
    assert schema["components"]["securitySchemes"]["BearerToken"] == {"type": "http", "scheme": "bearer"}
    operations = {op["operationId"]: op for path in schema["paths"].values() for op in path.values()}
    assert set(operations) == OPERATIONS
    for operation_id, operation in operations.items():
        assert operation["summary"], operation_id
        if operation_id == "auth_token":
            assert "security" not in operation
        else:
            assert operation["security"] == [{"BearerToken": []}], operation_id
            assert "401" in operation["responses"], operation_id


def test_docs_page_loads_swagger_from_our_own_static_files(api):
    page = api.get("/api/v1/docs")
    assert page.status == 200
    assert "民情 接口" in page.text
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert scripts and all(src.startswith("/static/") for src in scripts), scripts
    assert "/api/v1/openapi.json" in page.text
    for src in scripts:
        assert api.get(src).status == 200, src


def test_me_for_each_kind_of_account(api):
    grid1 = api.get("/api/v1/me", api.token("grid1")).json()
    assert grid1 | {"id": 0} == {
        "id": 0,
        "username": "grid1",
        "display_name": "李敏",
        "role": "grid_worker",
        "role_label": "网格员",
        "area": {"id": grid1["area"]["id"], "name": "嘉和社区第1网格"},
        "department": None,
        "is_active": True,
        "is_service": False,
        "capabilities": [
            "export_residents",
            "manage_residents",
            "reveal_pii",
            "view_places",
            "view_residents",
            "view_sensitive",
            "view_users",
            "view_visit_kpis",
        ],
    }
    dept1 = api.get("/api/v1/me", api.token("dept1")).json()
    assert (dept1["role"], dept1["area"], dept1["department"]["name"]) == ("department", None, "民安供电公司")
    district1 = api.get("/api/v1/me", api.token("district1")).json()
    assert district1["area"]["name"] == "民安区"
    assert "manage_places" in district1["capabilities"]


def test_users_never_carry_password_or_token_data(api):
    reply = api.get("/api/v1/users?limit=500", api.token("district1"))
    assert reply.status == 200
    for item in reply.json()["items"]:
        assert set(item) == {
            "id",
            "username",
            "display_name",
            "role",
            "role_label",
            "area",
            "department",
            "is_active",
            "is_service",
        }
    assert "pbkdf2" not in reply.text and "argon2" not in reply.text


def test_paging_with_limit_and_offset(api):
    token = api.token("district1")
    first = api.get("/api/v1/dwellings", token).json()
    total = first["count"]
    assert total > 500 and len(first["items"]) == 50  # default limit
    everything = api.all_items("/api/v1/dwellings", token)
    assert [d["id"] for d in everything[:50]] == [d["id"] for d in first["items"]]
    pages = [api.get(f"/api/v1/dwellings?limit=7&offset={offset}", token).json() for offset in (0, 7, 14)]
    assert all(page["count"] == total for page in pages)
    assert [d["id"] for page in pages for d in page["items"]] == [d["id"] for d in everything[:21]]
    tail = api.get(f"/api/v1/dwellings?limit=10&offset={total - 3}", token).json()
    assert [d["id"] for d in tail["items"]] == [d["id"] for d in everything[-3:]]
    assert api.get(f"/api/v1/dwellings?offset={total}", token).json() == {"count": total, "items": []}
    assert len(api.get("/api/v1/dwellings?limit=500", token).json()["items"]) == 500


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("limit=501", "limit", "500"),
        ("limit=0", "limit", "1"),
        ("limit=abc", "limit", "整数"),
        ("offset=-1", "offset", "0"),
        ("include_retired=maybe", "include_retired", "true"),
        ("level=street", "level", "grid"),
        ("parent=0", "parent", "1"),
    ],
)
def test_invalid_query_is_422_naming_the_field(api, query, field, words):
    reply = api.get(f"/api/v1/areas?{query}", api.token("grid1"))
    assert reply.status == 422
    body = reply.json()
    assert (body["code"], body["field"]) == ("invalid", field)
    assert body["message"].startswith(f"{field}：") and words in body["message"]


def test_wrong_method_is_405_json(api):
    token = api.token("district1")
    reply = api.request("DELETE", "/api/v1/areas/1", token=token)
    assert reply.status == 405
    assert reply.json()["code"] == "method_not_allowed"
    assert set(reply.headers["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}
    assert api.request("PUT", "/api/v1/auth/token", json_body={}).status == 405


def test_unknown_path_is_404_json_not_the_html_page(api):
    for path in ("/api/v1/no-such-thing", "/api/v1/areas/1/nothing", "/api/v1/"):
        reply = api.get(path, api.token("grid1"))
        assert reply.status == 404, path
        assert reply.content_type.startswith("application/json"), path
        assert reply.json()["code"] == "not_found"


def test_malformed_body_is_a_json_error(api):
    broken = api.request("POST", "/api/v1/auth/token", data=b"{not json")
    assert broken.status == 400
    assert broken.json() == {"code": "invalid", "message": "请求体不是有效的 JSON。", "field": None}
    missing = api.post("/api/v1/auth/token", {"username": "grid1"})
    assert (missing.status, missing.json()["field"]) == (422, "password")
    stray = api.post("/api/v1/auth/token", {"username": "grid1", "password": "x", "remember": True})
    assert (stray.status, stray.json()["field"]) == (422, "remember")
    nul = api.post("/api/v1/auth/token", {"username": "grid\u00001", "password": "x"})
    assert (nul.status, nul.json()["field"]) == (422, "username")
