"""Scope matrix over HTTP: every list endpoint of /api/v1/ returns, for each persona, exactly the set
the scope rule gives (the independent oracle, run in the server's own database); a detail outside
scope answers the same 404 body as an id that does not exist."""

import pytest

from minqing.api.tests.support import scope_oracle, shell_json

# One persona per role (grid workers of two communities), as in the page matrix.
PERSONAS = ["grid1", "liaison1", "bhead1", "staff1", "admin1", "street1", "dept1", "district1", "grid2"]
# endpoint → the oracle's name for the set; places and areas with retired ones, as the oracle counts them
LISTS = {
    "/api/v1/areas?include_retired=true": "areas",
    "/api/v1/estates?include_retired=true": "estates",
    "/api/v1/buildings?include_retired=true": "buildings",
    "/api/v1/units?include_retired=true": "units",
    "/api/v1/dwellings?include_retired=true": "dwellings",
    "/api/v1/users": "users",
    "/api/v1/departments": "departments",
    "/api/v1/residents?status=all": "residents",
    "/api/v1/households?include_dissolved=true": "households",
    "/api/v1/tags?include_retired=true": "tags",
    "/api/v1/tickets": "tickets",
}
DETAILS = {
    "areas": "/api/v1/areas/{}",
    "estates": "/api/v1/estates/{}",
    "buildings": "/api/v1/buildings/{}",
    "units": "/api/v1/units/{}",
    "dwellings": "/api/v1/dwellings/{}",
    "users": "/api/v1/users/{}",
    "residents": "/api/v1/residents/{}",
    "households": "/api/v1/households/{}",
}
MISSING_ID = 987654321
# Roles without the page's capability get 403 on the whole endpoint, as on the pages: a department
# has no business with places or residents, a liaison none with the users list.
PLACES = ("areas", "estates", "buildings", "units", "dwellings")
REGISTRY = ("residents", "households", "tags")
FORBIDDEN = {("dept1", entity) for entity in PLACES + REGISTRY} | {("liaison1", "users"), ("bhead1", "users")}
FORBIDDEN_BODY = {"code": "forbidden", "message": "当前角色无权执行此操作", "field": None}


# A resident wherever neither the demo nor another test put one (a liaison's dwelling and the one next
# door, a building head's building, another community's; one moved out), and a community tag on each
# side of a boundary.
SEED = """
from minqing.accounts.models import User
from minqing.areas.models import Dwelling
from minqing.registry import services
from minqing.registry.models import Resident, Tag

liaison1, grid1, grid2, bhead1 = (User.objects.get(username=u) for u in ("liaison1", "grid1", "grid2", "bhead1"))
homes = [
    liaison1.dwellings.order_by("pk").first(),
    Dwelling.objects.filter(building__grid=grid1.area).exclude(pk__in=liaison1.dwellings.values("pk")).first(),
    Dwelling.objects.filter(building__in=bhead1.buildings.all()).order_by("pk").first(),
    Dwelling.objects.filter(building__grid=grid2.area).order_by("pk").first(),
]
for n, home in enumerate(homes):
    if not Resident.objects.filter(dwelling=home).exists():
        actor = User.objects.get(role="grid_worker", area=home.building.grid)
        person = services.resident_create(actor=actor, data={"name": f"范{n}"}, dwelling=home)
        if n == 3:  # a former resident stays on the dwelling they left
            services.resident_move_out(actor=actor, resident=person, occurred_on="2026-11-01", destination="北京")
district1 = User.objects.get(username="district1")
for username, name in (("grid1", "矩阵嘉和标签"), ("grid2", "矩阵恒大标签")):
    community = User.objects.get(username=username).area.parent
    if not Tag.objects.filter(community=community, name=name).exists():
        services.tag_create(actor=district1, community=community, name=name)
emit(Resident.objects.count())
"""


@pytest.fixture(scope="module")
def oracle(live_app):
    shell_json(live_app, SEED)
    return scope_oracle(live_app, PERSONAS)


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("path", list(LISTS))
def test_list_is_exactly_the_scope(api, oracle, username, path):
    if (username, LISTS[path]) in FORBIDDEN:
        reply = api.get(path, api.token(username))
        assert (reply.status, reply.json()) == (403, FORBIDDEN_BODY)
        return
    items = api.all_items(path, api.token(username))
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), "an item listed twice"
    assert set(ids) == set(oracle["personas"][username][LISTS[path]])


def test_the_matrix_is_not_trivial(oracle):
    """The personas see different, non-empty worlds, so the matrix can fail."""
    seen = oracle["personas"]
    assert len(seen["liaison1"]["dwellings"]) == 16
    assert len(seen["grid1"]["buildings"]) == 2
    assert seen["dept1"]["dwellings"] == [] and seen["dept1"]["areas"]
    assert set(seen["grid1"]["dwellings"]).isdisjoint(seen["grid2"]["dwellings"])
    assert len(seen["district1"]["dwellings"]) > 500  # paging is exercised
    assert seen["liaison1"]["residents"] and set(seen["liaison1"]["residents"]) < set(seen["grid1"]["residents"])
    assert seen["bhead1"]["residents"] and set(seen["grid1"]["residents"]).isdisjoint(seen["grid2"]["residents"])
    assert seen["grid2"]["households"] and set(seen["grid1"]["households"]).isdisjoint(seen["grid2"]["households"])
    assert set(seen["liaison1"]["tags"]) < set(seen["grid1"]["tags"]) != set(seen["grid2"]["tags"])
    assert seen["liaison1"]["tickets"] and set(seen["liaison1"]["tickets"]) < set(seen["grid1"]["tickets"])
    assert seen["dept1"]["tickets"] and set(seen["dept1"]["tickets"]) < set(seen["district1"]["tickets"])
    assert set(seen["grid1"]["tickets"]) < set(seen["staff1"]["tickets"]) < set(seen["district1"]["tickets"])


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("entity", list(DETAILS))
def test_detail_in_scope_and_out_of_scope(api, oracle, username, entity):
    token = api.token(username)
    visible = oracle["personas"][username][entity]
    hidden = sorted(set(oracle["all"][entity]) - set(visible))
    if (username, entity) in FORBIDDEN:
        # The same 403 for an existing, a hidden and a missing id: nothing is revealed.
        for pk in [MISSING_ID, *visible[:1], *hidden[:1]]:
            reply = api.get(DETAILS[entity].format(pk), token)
            assert (reply.status, reply.json()) == (403, FORBIDDEN_BODY), (entity, pk)
        return
    missing = api.get(DETAILS[entity].format(MISSING_ID), token)
    assert missing.status == 404
    assert missing.content_type.startswith("application/json")
    assert missing.json() == {"code": "not_found", "message": "未找到该记录", "field": None}
    if visible:
        shown = api.get(DETAILS[entity].format(visible[0]), token)
        assert shown.status == 200, shown.text
        assert shown.json()["id"] == visible[0]
    for pk in hidden[:1] + hidden[-1:]:
        reply = api.get(DETAILS[entity].format(pk), token)
        assert (reply.status, reply.text) == (missing.status, missing.text), (entity, pk)


@pytest.mark.parametrize("username", PERSONAS)
def test_ticket_detail_in_scope_and_out_of_scope(api, oracle, username):
    """Demands are addressed by number: one out of scope answers the same 404 as a number never given."""
    token = api.token(username)
    number = {int(pk): n for pk, n in oracle["numbers"].items()}
    visible = oracle["personas"][username]["tickets"]
    hidden = sorted(set(oracle["all"]["tickets"]) - set(visible))
    assert hidden or username == "district1"  # only the district sees every demand
    missing = api.get("/api/v1/tickets/MQ19990101-0001", token)
    assert (missing.status, missing.json()) == (404, {"code": "not_found", "message": "未找到该记录", "field": None})
    for pk in visible[:1] + visible[-1:]:
        shown = api.get(f"/api/v1/tickets/{number[pk]}", token)
        assert (shown.status, shown.json()["id"]) == (200, pk), shown.text
    for pk in hidden[:1] + hidden[-1:]:
        reply = api.get(f"/api/v1/tickets/{number[pk]}", token)
        assert (reply.status, reply.text) == (missing.status, missing.text), pk
        step = api.post(f"/api/v1/tickets/{number[pk]}/actions/note", {"note": "x"}, token)
        assert (step.status, step.json()["code"]) == (404, "not_found"), pk


def test_list_filters_stay_inside_scope(api, oracle, live_app):
    """Filtering by an out-of-scope parent finds nothing; by one's own grid, one's own buildings."""
    grid1 = api.token("grid1")
    own_grid = oracle["personas"]["grid1"]["areas"][0]
    other_grid = oracle["personas"]["grid2"]["areas"][0]
    own = api.get(f"/api/v1/buildings?grid={own_grid}", grid1).json()
    assert {b["id"] for b in own["items"]} == set(oracle["personas"]["grid1"]["buildings"])
    assert api.get(f"/api/v1/buildings?grid={other_grid}", grid1).json() == {"count": 0, "items": []}
    assert api.get(f"/api/v1/areas?parent={other_grid}", grid1).json() == {"count": 0, "items": []}
    building = oracle["personas"]["liaison1"]["buildings"][0]
    liaison = api.get(f"/api/v1/dwellings?building={building}", api.token("liaison1")).json()
    assert {d["id"] for d in liaison["items"]} == set(oracle["personas"]["liaison1"]["dwellings"])


def test_area_detail_names_the_visible_ancestor_chain(api, oracle):
    district = api.token("district1")
    grid = oracle["personas"]["grid1"]["areas"][0]
    detail = api.get(f"/api/v1/areas/{grid}", district).json()
    assert [a["level"] for a in detail["ancestors"]] == ["district", "subdistrict", "community"]
    assert [a["name"] for a in detail["ancestors"]] == ["民安区", "康新街道", "嘉和社区"]
    assert detail["boundary"]["type"] == "Polygon"
    # The grid worker sees the grid, not the nodes above it: the chain stops where the scope does.
    assert api.get(f"/api/v1/areas/{grid}", api.token("grid1")).json()["ancestors"] == []
    admin_view = api.get(f"/api/v1/areas/{grid}", api.token("admin1")).json()
    assert [a["name"] for a in admin_view["ancestors"]] == ["嘉和社区"]
