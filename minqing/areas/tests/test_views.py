"""The area and place pages as the demo personas use them: what each sees, what is out of scope (404),
who may change things (403 otherwise), errors next to the field, history and audit entries."""

import json
import re
from html import unescape

import pytest
from django.urls import reverse

from conftest import PERSONAS
from minqing.accounts.roles import Capability, has_capability
from minqing.areas.models import Area, Building, Dwelling, Estate, Unit
from minqing.core.models import AuditEntry
from minqing.core.tests.scope_oracle import expected_for

JIAHE = "150603001001"
XINGAN = "150603001002"
HENGDA = "150603002001"
PASSWORD = "Minqing@2025"


def area(code: str) -> Area:
    return Area.objects.get(code=code)


def grid(community: str, n: int) -> Area:
    return area(f"{community}-G{n:02d}")


def first_building(grid_area: Area) -> Building:
    return Building.objects.filter(grid=grid_area).order_by("pk").first()


def html(response) -> str:
    return unescape(response.content.decode())


def field_error(response, field: str) -> str:
    """The error Django renders right before the field's input (ul#id_<field>_error)."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html(response), re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


def form_error(response) -> str:
    match = re.search(r'<ul class="errorlist nonfield">(.*?)</ul>', html(response), re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


def history_lines(response) -> list[str]:
    """The "what changed" lines of the 变更记录 section, e.g. "网格：A → B"."""
    section = html(response).split('data-testid="history"', 1)[1]
    return [re.sub(r"<[^>]+>|\s+", " ", li).strip() for li in re.findall(r"<li>(.*?)</li>", section, re.S)]


def history_entries(response) -> list[tuple[str, str]]:
    """(kind, "when · who") of each 变更记录 entry, newest first."""
    section = html(response).split('data-testid="history"', 1)[1]
    found = re.findall(r'<li data-kind="(\w+)">\s*<span class="muted">(.*?)</span>', section, re.S)
    return [(kind, re.sub(r"<[^>]+>|\s+", " ", head).strip()) for kind, head in found]


def audit_count(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


VIEWERS = [p for p in PERSONAS if p not in ("dept1", "dept2")]


# What each persona sees ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", VIEWERS)
def test_tree_lists_exactly_the_areas_in_scope(client_as, persona, username):
    response = client_as(username).get(reverse("areas:tree"))
    assert response.status_code == 200
    listed = re.findall(r'data-code="([^"]+)"', html(response))
    expected = set(Area.objects.filter(pk__in=expected_for(persona(username)).areas).values_list("code", flat=True))
    assert sorted(listed) == sorted(expected)


@pytest.mark.parametrize("username", VIEWERS)
def test_estates_page_lists_exactly_the_estates_and_buildings_in_scope(client_as, persona, username):
    response = client_as(username).get(reverse("areas:estates"))
    assert response.status_code == 200
    page = html(response)
    oracle = expected_for(persona(username))
    listed_estates = {int(pk) for pk in re.findall(r'data-estate="(\d+)"', page)}
    assert listed_estates == oracle.estates
    listed_buildings = {int(pk) for pk in re.findall(r'href="/areas/buildings/(\d+)/"', page)}
    assert listed_buildings == oracle.buildings


def test_tree_orders_siblings_by_code_and_indents_children(client_as):
    page = html(client_as("district1").get(reverse("areas:tree")))
    codes = re.findall(r'data-code="([^"]+)"', page)
    xingan = [c for c in codes if c.startswith(f"{XINGAN}-")]
    assert xingan == [f"{XINGAN}-G{n:02d}" for n in range(1, 7)]
    assert codes.index(JIAHE) < codes.index(f"{JIAHE}-G01") < codes.index(XINGAN)
    assert re.search(rf'data-code="{JIAHE}-G01" style="padding-left: 3rem"', page)


def test_department_may_not_browse_places(client_as):
    for name in ("areas:tree", "areas:estates"):
        assert client_as("dept1").get(reverse(name)).status_code == 403
    assert client_as("dept1").get(reverse("areas:area_detail", args=[area(JIAHE).pk])).status_code == 403


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("areas:tree"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_grid_page_shows_buildings_worker_and_boundary(client_as):
    g1 = grid(JIAHE, 1)
    response = client_as("grid1").get(reverse("areas:area_detail", args=[g1.pk]))
    page = html(response)
    assert response.status_code == 200
    assert "嘉和社区第1网格" in page and f"{JIAHE}-G01" in page
    assert "李敏" in page.split('data-testid="grid-workers"')[1].split("</dd>")[0]
    for building in Building.objects.filter(grid=g1):
        assert reverse("areas:building_detail", args=[building.pk]) in page
    other = first_building(grid(JIAHE, 2))
    assert reverse("areas:building_detail", args=[other.pk]) not in page
    svg = re.search(r'<svg[^>]*viewBox="0 0 (\d+) (\d+)"[^>]*>\s*<path d="([^"]+)"', page)
    assert svg, "the boundary is drawn inline"
    # The demo square: five points of one closed ring, drawn inside the view box.
    points = re.findall(r"(-?[\d.]+),(-?[\d.]+)", svg.group(3))
    assert len(points) == 5
    width, height = int(svg.group(1)), int(svg.group(2))
    assert all(0 <= float(x) <= width and 0 <= float(y) <= height for x, y in points)
    assert "<script" not in page.split('data-testid="boundary"')[1].split("</figure>")[0]
    assert 'data-testid="manage"' not in page


def test_community_page_lists_its_grids(client_as):
    community = area(JIAHE)
    page = html(client_as("staff1").get(reverse("areas:area_detail", args=[community.pk])))
    for n in (1, 2, 3):
        assert f"嘉和社区第{n}网格" in page
    assert "1 个小区" in page
    assert 'data-testid="manage"' not in page


def test_building_page_shows_units_floors_rooms_and_grid(client_as, persona):
    liaison = persona("liaison1")
    building = liaison.dwellings.first().building
    response = client_as("liaison1").get(reverse("areas:building_detail", args=[building.pk]))
    page = html(response)
    assert response.status_code == 200
    assert "嘉和社区第1网格" in page.split('data-testid="grid"')[1].split("</dd>")[0]
    dwellings_section = page.split('data-testid="dwellings"')[1].split("</section>")[0]
    assert "1单元" in dwellings_section and "2单元" in dwellings_section
    assert "4 层" in dwellings_section
    for dwelling in liaison.dwellings.all():
        assert reverse("areas:dwelling_detail", args=[dwelling.pk]) in dwellings_section
    # Top floor first, as the building is seen from outside.
    assert dwellings_section.index("401") < dwellings_section.index("101")


def test_dwelling_page_shows_its_facts_and_liaison(client_as, persona):
    dwelling = persona("liaison1").dwellings.order_by("pk").first()
    for username in ("grid1", "liaison1", "staff1"):
        page = html(client_as(username).get(reverse("areas:dwelling_detail", args=[dwelling.pk])))
        facts = page.split('data-testid="dwelling-facts"')[1].split("</section>")[0]
        assert f"楼层</dt><dd>{dwelling.floor}</dd>" in facts
        assert f"房号</dt><dd>{dwelling.room}</dd>" in facts
        assert "商品房" in facts
        assert str(dwelling.floor_area) in facts
        assert "程强壮" in facts.split('data-testid="liaisons"')[1].split("</dd>")[0]


def test_unit_and_estate_pages_render(client_as):
    building = first_building(grid(JIAHE, 1))
    unit = building.units.order_by("name").first()
    page = html(client_as("grid1").get(reverse("areas:unit_detail", args=[unit.pk])))
    assert "嘉和苑1号楼1单元" in page and "402" in page
    page = html(client_as("grid1").get(reverse("areas:estate_detail", args=[building.estate_id])))
    assert "嘉和苑" in page
    assert reverse("areas:building_detail", args=[building.pk]) in page
    hidden = first_building(grid(JIAHE, 3))
    assert reverse("areas:building_detail", args=[hidden.pk]) not in page


# Out of scope is 404, whatever the page -----------------------------------------------------------


def test_out_of_scope_objects_answer_404(client_as, persona):
    building = first_building(grid(JIAHE, 1))
    unit = building.units.first()
    dwelling = building.dwellings.first()
    urls = [
        reverse("areas:area_detail", args=[grid(JIAHE, 1).pk]),
        reverse("areas:area_detail", args=[area(JIAHE).pk]),
        reverse("areas:estate_detail", args=[building.estate_id]),
        reverse("areas:building_detail", args=[building.pk]),
        reverse("areas:unit_detail", args=[unit.pk]),
        reverse("areas:dwelling_detail", args=[dwelling.pk]),
        reverse("areas:area_detail", args=[999999]),
    ]
    for url in urls:
        response = client_as("grid2").get(url)
        assert response.status_code == 404, url
        assert "嘉和" not in html(response)
    # Inside the community but outside the persona's narrower scope.
    other_building = Building.objects.filter(grid=grid(JIAHE, 1)).order_by("pk")[1]
    assert client_as("liaison1").get(reverse("areas:building_detail", args=[other_building.pk])).status_code == 404
    assert client_as("grid1").get(reverse("areas:area_detail", args=[grid(JIAHE, 2).pk])).status_code == 404
    assert client_as("staff2").get(reverse("areas:estates") + f"?community={area(JIAHE).pk}").status_code == 404


def test_detail_pages_refuse_post(client_as):
    response = client_as("admin1").post(reverse("areas:area_detail", args=[grid(JIAHE, 1).pk]))
    assert response.status_code == 405


# Who may change things -------------------------------------------------------------------------------


def test_edit_controls_only_for_roles_that_manage_places(client_as, persona):
    g1 = grid(JIAHE, 1)
    building = first_building(g1)
    for username in ("grid1", "staff1", "street1", "admin1", "district1"):
        manages = has_capability(persona(username), Capability.MANAGE_PLACES)
        for url in (
            reverse("areas:area_detail", args=[g1.pk]),
            reverse("areas:building_detail", args=[building.pk]),
            reverse("areas:dwelling_detail", args=[building.dwellings.first().pk]),
            reverse("areas:estate_detail", args=[building.estate_id]),
        ):
            page = html(client_as(username).get(url))
            assert ('data-testid="manage"' in page) is manages, (username, url)
    assert has_capability(persona("admin1"), Capability.MANAGE_PLACES)
    assert not has_capability(persona("staff1"), Capability.MANAGE_PLACES)


def test_grid_worker_posting_to_edit_urls_gets_403_and_nothing_changes(client_as):
    g1 = grid(JIAHE, 1)
    building = first_building(g1)
    before = AuditEntry.objects.count()
    client = client_as("grid1")
    attempts = [
        (reverse("areas:area_edit", args=[g1.pk]), {"code": "X-1", "name": "改名"}),
        (reverse("areas:area_boundary", args=[g1.pk]), {"boundary": ""}),
        (reverse("areas:area_retire", args=[g1.pk]), {}),
        (reverse("areas:building_move", args=[building.pk]), {"grid": grid(JIAHE, 2).pk}),
        (reverse("areas:building_edit", args=[building.pk]), {"name": "99号楼"}),
        (reverse("areas:dwelling_retire", args=[building.dwellings.first().pk]), {}),
        (reverse("areas:unit_create", args=[building.pk]), {"name": "9单元"}),
        (reverse("areas:estate_create"), {"community": area(JIAHE).pk, "name": "新小区"}),
    ]
    for url, data in attempts:
        assert client.post(url, data).status_code == 403, url
        assert client.get(url).status_code == 403, url
    g1.refresh_from_db()
    building.refresh_from_db()
    assert (g1.name, g1.code, g1.retired_at) == ("嘉和社区第1网格", f"{JIAHE}-G01", None)
    assert g1.boundary is not None
    assert building.grid_id == g1.pk and building.name == "1号楼"
    assert not Unit.objects.filter(name="9单元").exists() and not Estate.objects.filter(name="新小区").exists()
    assert AuditEntry.objects.count() == before


def test_out_of_scope_edit_is_404_not_403(client_as):
    building = first_building(grid(JIAHE, 1))
    assert client_as("grid2").post(reverse("areas:building_move", args=[building.pk]), {}).status_code == 404
    assert client_as("grid1").post(reverse("areas:area_edit", args=[grid(JIAHE, 2).pk]), {}).status_code == 404
    hengda = grid(HENGDA, 1)
    response = client_as("admin1").post(reverse("areas:area_edit", args=[hengda.pk]), {"code": "X", "name": "Y"})
    assert response.status_code == 404
    hengda.refresh_from_db()
    assert hengda.name == "恒大社区第1网格"


# The community admin at work --------------------------------------------------------------------------


def test_admin_creates_renames_and_retires_a_grid(client_as):
    client = client_as("admin1")
    jiahe = area(JIAHE)
    create_url = reverse("areas:area_create", args=[jiahe.pk])
    assert "新建网格" in html(client.get(create_url))
    response = client.post(create_url, {"code": f"{JIAHE}-G04", "name": "嘉和社区第4网格", "boundary": ""})
    new = area(f"{JIAHE}-G04")
    assert response.status_code == 302 and response["Location"] == reverse("areas:area_detail", args=[new.pk])
    assert new.level == "grid" and new.parent_id == jiahe.pk and new.path == f"{jiahe.path}{new.pk}/"
    assert AuditEntry.objects.filter(action="area.create", target_id=str(new.pk), actor_name="admin1").exists()
    assert "嘉和社区第4网格" in html(client.get(reverse("areas:tree")))

    response = client.post(
        reverse("areas:area_edit", args=[new.pk]), {"code": f"{JIAHE}-G05", "name": "嘉和社区第5网格"}
    )
    assert response.status_code == 302
    new.refresh_from_db()
    assert (new.code, new.name) == (f"{JIAHE}-G05", "嘉和社区第5网格")
    assert AuditEntry.objects.filter(action="area.update", target_id=str(new.pk)).count() == 1

    confirm = client.get(reverse("areas:area_retire", args=[new.pk]))
    assert confirm.status_code == 200 and 'method="post"' in html(confirm)
    new.refresh_from_db()
    assert new.retired_at is None, "opening the confirmation changes nothing"
    response = client.post(reverse("areas:area_retire", args=[new.pk]))
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.retired_at is not None
    assert AuditEntry.objects.filter(action="area.retire", target_id=str(new.pk)).count() == 1

    tree = html(client.get(reverse("areas:tree")))
    assert f"{JIAHE}-G05" not in tree
    assert f"{JIAHE}-G05" in html(client.get(reverse("areas:tree") + "?retired=1"))

    page = client.get(reverse("areas:area_detail", args=[new.pk]))
    entries = history_entries(page)
    assert [kind for kind, _ in entries] == ["retired", "changed", "created"]
    assert all(head.endswith("· 赵书记") for _, head in entries)
    lines = history_lines(page)
    assert "名称：嘉和社区第4网格 → 嘉和社区第5网格" in lines
    assert f"编码：{JIAHE}-G04 → {JIAHE}-G05" in lines
    assert 'data-testid="manage"' not in html(page), "a retired grid is kept for the record only"


def test_admin_moves_a_building_between_two_jiahe_grids(client_as):
    client = client_as("admin1")
    g1, g2 = grid(JIAHE, 1), grid(JIAHE, 2)
    building = first_building(g1)
    move_url = reverse("areas:building_move", args=[building.pk])
    form = html(client.get(move_url))
    assert "嘉和社区第2网格" in form and "嘉和社区第3网格" in form and "恒大" not in form
    response = client.post(move_url, {"grid": g2.pk})
    assert response.status_code == 302
    building.refresh_from_db()
    assert building.grid_id == g2.pk
    entry = AuditEntry.objects.get(action="building.move", target_id=str(building.pk))
    assert entry.actor_name == "admin1" and entry.data == {"from": "嘉和社区第1网格", "to": "嘉和社区第2网格"}

    page = client.get(reverse("areas:building_detail", args=[building.pk]))
    assert "嘉和社区第2网格" in html(page).split('data-testid="grid"')[1].split("</dd>")[0]
    assert "网格：嘉和社区第1网格 → 嘉和社区第2网格" in history_lines(page)
    assert "赵书记" in html(page).split('data-testid="history"')[1]
    # The grid worker of the old grid no longer sees it; the new grid's worker does.
    assert client_as("grid1").get(reverse("areas:building_detail", args=[building.pk])).status_code == 404


def test_admin_sets_a_grid_boundary_by_pasting_geojson(client_as):
    g3 = grid(JIAHE, 3)
    polygon = {"type": "Polygon", "coordinates": [[[110.0, 40.0], [110.01, 40.0], [110.005, 40.01], [110.0, 40.0]]]}
    url = reverse("areas:area_boundary", args=[g3.pk])
    client = client_as("admin1")
    response = client.post(url, {"boundary": json.dumps({"type": "Feature", "geometry": polygon})})
    assert response.status_code == 302
    g3.refresh_from_db()
    assert g3.boundary == polygon
    assert AuditEntry.objects.filter(action="area.boundary", target_id=str(g3.pk)).count() == 1
    page = client.get(reverse("areas:area_detail", args=[g3.pk]))
    path = re.search(r'<path d="([^"]+)"', html(page)).group(1)
    assert len(re.findall(r"[\d.]+,[\d.]+", path)) == 4  # the triangle, closed
    assert "边界：— → 已设置" in history_lines(page)  # the demo wrote its squares without history

    client.post(url, {"boundary": ""})
    g3.refresh_from_db()
    assert g3.boundary is None
    page = client.get(reverse("areas:area_detail", args=[g3.pk]))
    assert "尚未设置边界" in html(page) and "<svg" not in html(page)
    assert history_lines(page)[0] == "边界：已设置 → —"


def test_district_staff_moves_an_empty_grid_to_another_community(client_as):
    client = client_as("district1")
    jiahe, xingan = area(JIAHE), area(XINGAN)
    client.post(reverse("areas:area_create", args=[jiahe.pk]), {"code": "JH-NEW", "name": "新网格"})
    new = area("JH-NEW")
    form = html(client.get(reverse("areas:area_move", args=[new.pk])))
    assert "兴安南路社区" in form and "恒大社区" in form
    response = client.post(reverse("areas:area_move", args=[new.pk]), {"parent": xingan.pk})
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.parent_id == xingan.pk and new.path == f"{xingan.path}{new.pk}/"
    assert AuditEntry.objects.filter(action="area.move", target_id=str(new.pk)).count() == 1
    lines = history_lines(client.get(reverse("areas:area_detail", args=[new.pk])))
    assert "上级：嘉和社区 → 兴安南路社区" in lines
    # The 嘉和 admin no longer sees it.
    assert client_as("admin1").get(reverse("areas:area_detail", args=[new.pk])).status_code == 404


def test_admin_manages_estates_buildings_units_and_dwellings(client_as):
    client = client_as("admin1")
    jiahe, g3 = area(JIAHE), grid(JIAHE, 3)
    response = client.post(reverse("areas:estate_create"), {"community": jiahe.pk, "name": "嘉和二期", "address": ""})
    estate = Estate.objects.get(name="嘉和二期")
    assert response["Location"] == reverse("areas:estate_detail", args=[estate.pk])
    client.post(reverse("areas:estate_edit", args=[estate.pk]), {"name": "嘉和苑二期", "address": "康新路 8 号"})
    estate.refresh_from_db()
    assert (estate.name, estate.address) == ("嘉和苑二期", "康新路 8 号")

    client.post(reverse("areas:building_create", args=[estate.pk]), {"grid": g3.pk, "name": "1号楼", "floors": "6"})
    building = Building.objects.get(estate=estate, name="1号楼")
    assert building.grid_id == g3.pk and building.floors == 6
    client.post(reverse("areas:unit_create", args=[building.pk]), {"name": "1单元"})
    unit = Unit.objects.get(building=building, name="1单元")
    client.post(reverse("areas:unit_edit", args=[unit.pk]), {"name": "东单元"})
    unit.refresh_from_db()
    assert unit.name == "东单元"

    data = {"unit": unit.pk, "floor": "6", "room": "601", "housing_type": "public_rental", "floor_area": "56.5"}
    client.post(reverse("areas:dwelling_create", args=[building.pk]), data)
    dwelling = Dwelling.objects.get(building=building, room="601")
    assert (dwelling.unit_id, dwelling.floor, str(dwelling.floor_area)) == (unit.pk, 6, "56.50")
    client.post(reverse("areas:dwelling_edit", args=[dwelling.pk]), {**data, "room": "602", "floor_area": "60"})
    dwelling.refresh_from_db()
    assert dwelling.room == "602"
    page = client.get(reverse("areas:dwelling_detail", args=[dwelling.pk]))
    assert "公租房/廉租房" in html(page)
    assert "房号：601 → 602" in history_lines(page)
    assert "面积（㎡）：56.50 → 60.00" in history_lines(page)

    building_page = html(client.get(reverse("areas:building_detail", args=[building.pk])))
    assert "东单元" in building_page and reverse("areas:dwelling_detail", args=[dwelling.pk]) in building_page

    # Retiring goes bottom-up: the building refuses while it has a dwelling.
    response = client.post(reverse("areas:building_retire", args=[building.pk]))
    assert "请先撤销该楼栋的房屋" in form_error(response)
    for name, obj in (("dwelling", dwelling), ("unit", unit), ("building", building), ("estate", estate)):
        response = client.post(reverse(f"areas:{name}_retire", args=[obj.pk]))
        assert response.status_code == 302, name
        obj.refresh_from_db()
        assert obj.retired_at is not None, name
        assert AuditEntry.objects.filter(action=f"{name}.retire", target_id=str(obj.pk)).count() == 1
    for action in ("estate.create", "estate.update", "building.create", "unit.create", "unit.update"):
        assert AuditEntry.objects.filter(action=action, actor_name="admin1").count() == 1, action
    assert AuditEntry.objects.filter(action__in=["dwelling.create", "dwelling.update"]).count() == 2


# Bad input: the error beside the field, nothing stored ---------------------------------------------------


def test_duplicate_code_is_shown_next_to_the_code_field(client_as):
    jiahe = area(JIAHE)
    count, audits = Area.objects.count(), AuditEntry.objects.count()
    response = client_as("admin1").post(
        reverse("areas:area_create", args=[jiahe.pk]), {"code": f"{JIAHE}-G02", "name": "重复网格"}
    )
    assert response.status_code == 200
    assert f"编码 {JIAHE}-G02 已被使用" in field_error(response, "code")
    assert field_error(response, "name") == ""
    assert 'value="重复网格"' in html(response), "what was typed is kept"
    assert Area.objects.count() == count and AuditEntry.objects.count() == audits

    g1 = grid(JIAHE, 1)
    response = client_as("admin1").post(
        reverse("areas:area_edit", args=[g1.pk]), {"code": f"{JIAHE}-G03", "name": "嘉和社区第1网格"}
    )
    assert "已被使用" in field_error(response, "code")
    g1.refresh_from_db()
    assert g1.code == f"{JIAHE}-G01"


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("{not json", "不是有效的 GeoJSON"),
        ('{"type": "Point", "coordinates": [110, 40]}', "Polygon 或 MultiPolygon"),
        (
            '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}',
            "无效（自相交或不闭合）",
        ),
    ],
)
def test_invalid_geojson_is_shown_next_to_the_boundary_field(client_as, pasted, message):
    g1 = grid(JIAHE, 1)
    before, audits = g1.boundary, AuditEntry.objects.count()
    response = client_as("admin1").post(reverse("areas:area_boundary", args=[g1.pk]), {"boundary": pasted})
    assert response.status_code == 200
    assert message in field_error(response, "boundary")
    g1.refresh_from_db()
    assert g1.boundary == before and AuditEntry.objects.count() == audits


def test_retiring_a_grid_with_buildings_is_refused_on_the_confirmation(client_as):
    g1 = grid(JIAHE, 1)
    audits = AuditEntry.objects.count()
    response = client_as("admin1").post(reverse("areas:area_retire", args=[g1.pk]))
    assert response.status_code == 200
    assert "该网格仍有楼栋" in form_error(response)
    g1.refresh_from_db()
    assert g1.retired_at is None and AuditEntry.objects.count() == audits


def test_bad_dwelling_input_names_the_field(client_as):
    building = first_building(grid(JIAHE, 1))
    unit = building.units.order_by("name").first()
    url = reverse("areas:dwelling_create", args=[building.pk])
    base = {"unit": unit.pk, "floor": "2", "room": "209", "housing_type": "commercial", "floor_area": "80"}
    count = Dwelling.objects.count()
    cases = [
        ({"floor": "9"}, "floor", "楼层超出该楼栋的层数"),
        ({"room": "101"}, "room", "已有房号 101"),
        ({"floor_area": "abc"}, "floor_area", "面积须为数字"),
    ]
    for change, field, message in cases:
        response = client_as("admin1").post(url, {**base, **change})
        assert message in field_error(response, field), field
    assert Dwelling.objects.count() == count


# Query budget -----------------------------------------------------------------------------------------


def test_list_pages_use_a_bounded_number_of_queries(client_as, django_assert_max_num_queries):
    """The district sees every estate and building: still a fixed number of queries, not one per row.
    Each budget is what the page does today plus 2 of slack: session read and save (4), user, scope
    node, then the page's own queries (count + rows + prefetch; history: count + rows + one before)."""
    client = client_as("district1")
    client.get(reverse("areas:estates"))  # the session exists
    with django_assert_max_num_queries(9 + 2):
        response = client.get(reverse("areas:estates"))
    assert html(response).count('href="/areas/buildings/') == Building.objects.count()
    with django_assert_max_num_queries(7 + 2):
        response = client.get(reverse("areas:tree"))
    assert html(response).count("data-code=") == Area.objects.count()
    with django_assert_max_num_queries(16 + 2):
        client.get(reverse("areas:area_detail", args=[grid(HENGDA, 1).pk]))
    with django_assert_max_num_queries(14 + 2):
        client.get(reverse("areas:building_detail", args=[first_building(grid(HENGDA, 1)).pk]))
