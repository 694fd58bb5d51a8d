"""The rules of the area tree and places, at the service layer the pages and the API share."""

from decimal import Decimal

import pytest

from minqing.accounts.models import User
from minqing.accounts.roles import ROLE_CAPABILITIES, Capability, Role
from minqing.areas import selectors, services
from minqing.areas.models import Area, AreaLevel, Building, Dwelling, Estate, HousingType, Unit
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.models import AuditEntry

JIAHE, XINGAN, HENGDA = "150603001001", "150603001002", "150603002001"
KANGXIN, SHAHE = "150603001", "150603002"
SQUARE = {"type": "Polygon", "coordinates": [[[110, 40], [110.01, 40], [110.01, 40.01], [110, 40.01], [110, 40]]]}


def area(code: str) -> Area:
    return Area.objects.get(code=code)


def grid(community: str, n: int) -> Area:
    return area(f"{community}-G{n:02d}")


def buildings_of(grid_area: Area) -> list[Building]:
    return list(Building.objects.filter(grid=grid_area).order_by("pk"))


def raises(field: str, message: str = ""):
    """An ApplicationError naming `field` (and saying `message`)."""

    class Check:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            assert exc is not None, f"expected an error on {field!r}"
            assert type(exc) is ApplicationError, exc
            assert exc.field == field, (exc.field, exc.message)
            assert message in str(exc.message)
            return True

    return Check()


def empty_grid(actor, code="150603001001-G09", name="嘉和社区第9网格") -> Area:
    return services.area_create(actor=actor, parent=area(JIAHE), level=AreaLevel.GRID, code=code, name=name)


# Creating nodes: levels, codes, scope ------------------------------------------------------------------


def test_area_create_sets_path_and_history_and_audit(persona):
    admin = persona("admin1")
    new = services.area_create(
        actor=admin, parent=area(JIAHE), level=AreaLevel.GRID, code="JH-G9", name=" 第9网格 ", boundary=SQUARE
    )
    new.refresh_from_db()
    assert new.path == f"{area(JIAHE).path}{new.pk}/" and new.name == "第9网格" and new.boundary == SQUARE
    assert new.history.get().history_user == admin
    assert AuditEntry.objects.get(action="area.create", target_id=str(new.pk)).area_path == new.path


@pytest.mark.parametrize(
    ("parent_code", "level"),
    [
        (KANGXIN, AreaLevel.GRID),  # a grid under a subdistrict
        (JIAHE, AreaLevel.COMMUNITY),  # a community under a community
        (f"{JIAHE}-G01", AreaLevel.GRID),  # a grid under a grid
    ],
)
def test_area_create_refuses_the_wrong_level(persona, parent_code, level):
    count = Area.objects.count()
    with raises("parent", "层级"):
        services.area_create(actor=persona("district1"), parent=area(parent_code), level=level, code="X1", name="X")
    assert Area.objects.count() == count


def test_area_create_refuses_bad_or_duplicate_codes_and_empty_names(persona):
    admin = persona("admin1")
    with raises("code", "已被使用"):
        empty_grid(admin, code=f"{JIAHE}-G01")
    with raises("code", "字母、数字"):
        empty_grid(admin, code="第9网格")
    with raises("name", "必填"):
        empty_grid(admin, name="  ")
    with raises("boundary", "GeoJSON"):
        services.area_create(
            actor=admin, parent=area(JIAHE), level=AreaLevel.GRID, code="JH-X", name="X", boundary="[1, 2"
        )


def test_area_create_outside_scope_is_not_found_and_without_capability_is_forbidden(persona):
    with pytest.raises(NotFound):
        services.area_create(actor=persona("admin1"), parent=area(HENGDA), level=AreaLevel.GRID, code="HD-X", name="X")
    for username in ("grid1", "staff1", "street1", "liaison1", "dept1"):
        with pytest.raises(PermissionDenied):
            empty_grid(persona(username))


# Updating: rename, boundary ---------------------------------------------------------------------------


def test_area_update_renames_and_keeps_the_boundary(persona):
    g1 = grid(JIAHE, 1)
    boundary = g1.boundary
    services.area_update(actor=persona("admin1"), area=g1, name="嘉和东网格", code="JH-EAST")
    g1.refresh_from_db()
    assert (g1.name, g1.code, g1.boundary) == ("嘉和东网格", "JH-EAST", boundary)
    entry = AuditEntry.objects.get(action="area.update", target_id=str(g1.pk))
    assert entry.data == {
        "old": {"name": "嘉和社区第1网格", "code": f"{JIAHE}-G01"},
        "new": {"name": "嘉和东网格", "code": "JH-EAST"},
    }


def test_area_set_boundary_validates_and_only_for_grids(persona):
    admin = persona("admin1")
    g1 = grid(JIAHE, 1)
    services.area_set_boundary(actor=admin, area=g1, boundary={"type": "Feature", "geometry": SQUARE})
    g1.refresh_from_db()
    assert g1.boundary == SQUARE
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with raises("boundary", "自相交"):
        services.area_set_boundary(actor=admin, area=g1, boundary=bow_tie)
    with raises("boundary", "坐标"):
        services.area_set_boundary(actor=admin, area=g1, boundary={"type": "Polygon"})
    with raises("boundary", "只有网格"):
        services.area_set_boundary(actor=admin, area=area(JIAHE), boundary=SQUARE)
    with raises("boundary", "只有网格"):  # the same rule when a rename carries a boundary (API PATCH)
        services.area_update(actor=admin, area=area(JIAHE), name="嘉和社区", code=JIAHE, boundary=SQUARE)
    services.area_set_boundary(actor=admin, area=g1, boundary="")
    g1.refresh_from_db()
    assert g1.boundary is None
    assert AuditEntry.objects.filter(action="area.boundary", target_id=str(g1.pk)).count() == 2


def test_in_scope_but_read_only_is_forbidden_and_out_of_scope_is_not_found(persona):
    g1 = grid(JIAHE, 1)
    with pytest.raises(PermissionDenied):
        services.area_update(actor=persona("grid1"), area=g1, name="X", code="X")
    with pytest.raises(NotFound):
        services.area_update(actor=persona("admin1"), area=grid(HENGDA, 1), name="X", code="X")
    g1.refresh_from_db()
    assert g1.name == "嘉和社区第1网格"


# Moving: levels and paths --------------------------------------------------------------------------


def test_area_move_updates_the_path_of_the_node_and_all_its_descendants(persona):
    district = persona("district1")
    jiahe, shahe = area(JIAHE), area(SHAHE)
    grids = list(jiahe.children.all())
    services.area_move(actor=district, area=jiahe, new_parent=shahe)
    jiahe.refresh_from_db()
    assert jiahe.parent_id == shahe.pk and jiahe.path == f"{shahe.path}{jiahe.pk}/"
    for g in grids:
        g.refresh_from_db()
        assert g.path == f"{jiahe.path}{g.pk}/"
    # The scope follows the tree: 沙河街道 now sees 嘉和 and its buildings, 康新街道 no longer does.
    jiahe_building = buildings_of(grids[0])[0]
    assert selectors.buildings_visible_to(persona("street2")).filter(pk=jiahe_building.pk).exists()
    assert not selectors.buildings_visible_to(persona("street1")).filter(pk=jiahe_building.pk).exists()
    assert AuditEntry.objects.get(action="area.move", target_id=str(jiahe.pk)).data == {
        "from": "康新街道",
        "to": "沙河街道",
    }


def test_area_move_refusals(persona):
    district = persona("district1")
    new = empty_grid(district)
    with raises("parent", "层级"):
        services.area_move(actor=district, area=new, new_parent=area(KANGXIN))
    with raises("parent", "已在"):
        services.area_move(actor=district, area=new, new_parent=area(JIAHE))
    with raises("parent", "仍有楼栋"):
        services.area_move(actor=district, area=grid(JIAHE, 1), new_parent=area(XINGAN))
    # A community admin cannot reach another community at all.
    with pytest.raises(NotFound):
        services.area_move(actor=persona("admin1"), area=new, new_parent=area(XINGAN))
    empty_community = services.area_create(
        actor=district, parent=area(KANGXIN), level=AreaLevel.COMMUNITY, code="KX-NEW", name="新社区"
    )
    services.area_retire(actor=district, area=empty_community)
    with raises("parent", "已撤销"):
        services.area_move(actor=district, area=new, new_parent=empty_community)
    with raises("parent", "已撤销"):
        services.area_create(actor=district, parent=empty_community, level=AreaLevel.GRID, code="X-2", name="X")
    new.refresh_from_db()
    assert new.parent_id == area(JIAHE).pk


# Retiring -----------------------------------------------------------------------------------------


def test_area_retire_refusals(persona):
    district = persona("district1")
    with raises("area", "下级区域"):
        services.area_retire(actor=district, area=area(JIAHE))
    with raises("area", "仍有楼栋"):
        services.area_retire(actor=district, area=grid(JIAHE, 1))
    staffed = empty_grid(district)
    User.objects.filter(username="grid2").update(area=staffed)
    with raises("area", "在职人员"):
        services.area_retire(actor=district, area=staffed)
    community = services.area_create(
        actor=district, parent=area(KANGXIN), level=AreaLevel.COMMUNITY, code="KX-NEW", name="新社区"
    )
    services.estate_create(actor=district, community=community, name="新小区")
    with raises("area", "仍有小区"):
        services.area_retire(actor=district, area=community)
    assert not Area.objects.filter(retired_at__isnull=False).exists()


def test_a_retired_grid_is_kept_but_not_changed_or_built_on(persona):
    admin = persona("admin1")
    new = empty_grid(admin)
    services.area_retire(actor=admin, area=new)
    new.refresh_from_db()
    first = new.retired_at
    assert first is not None and not selectors.areas_visible_to(admin).filter(pk=new.pk).exists()
    assert selectors.areas_visible_to(admin, include_retired=True).filter(pk=new.pk).exists()
    services.area_retire(actor=admin, area=new)  # twice is once
    new.refresh_from_db()
    assert new.retired_at == first
    with raises("area", "已撤销"):
        services.area_update(actor=admin, area=new, name="X", code="X-1")
    with raises("grid", "有效的网格"):
        services.building_create(actor=admin, estate=Estate.objects.get(name="嘉和苑"), grid=new, name="99号楼")
    assert AuditEntry.objects.filter(action="area.retire", target_id=str(new.pk)).count() == 1


def test_places_retire_bottom_up(persona):
    admin = persona("admin1")
    estate = services.estate_create(actor=admin, community=area(JIAHE), name="嘉和二期")
    building = services.building_create(actor=admin, estate=estate, grid=grid(JIAHE, 3), name="1号楼", floors=3)
    unit = services.unit_create(actor=admin, building=building, name="1单元")
    dwelling = services.dwelling_create(actor=admin, building=building, unit=unit, room="101", floor=1)
    with raises("estate", "楼栋"):
        services.estate_retire(actor=admin, estate=estate)
    with raises("building", "房屋"):
        services.building_retire(actor=admin, building=building)
    with raises("unit", "房屋"):
        services.unit_retire(actor=admin, unit=unit)
    services.dwelling_retire(actor=admin, dwelling=dwelling)
    with raises("dwelling", "已撤销"):
        services.dwelling_update(actor=admin, dwelling=dwelling, unit=unit, room="102")
    services.building_retire(actor=admin, building=building)
    unit.refresh_from_db()
    assert unit.retired_at is not None, "the building's units go with it"
    assert unit.history.first().history_user == admin
    with raises("building", "已撤销"):
        services.unit_create(actor=admin, building=building, name="2单元")
    services.estate_retire(actor=admin, estate=estate)
    with raises("estate", "已撤销"):
        services.building_create(actor=admin, estate=estate, grid=grid(JIAHE, 3), name="2号楼")
    # A new estate may take the retired one's name: uniqueness holds among active ones only.
    services.estate_create(actor=admin, community=area(JIAHE), name="嘉和二期")


# Buildings move within their community --------------------------------------------------------------


def test_building_move_within_the_community_keeps_history(persona):
    admin = persona("admin1")
    g1, g2 = grid(JIAHE, 1), grid(JIAHE, 2)
    building = buildings_of(g1)[0]
    services.building_move(actor=admin, building=building, grid=g2)
    building.refresh_from_db()
    assert building.grid_id == g2.pk
    last, before = building.history.all()[:2]
    assert (before.grid_id, last.grid_id, last.history_user) == (g1.pk, g2.pk, admin)
    # What the grid workers see follows the building.
    assert not selectors.buildings_visible_to(persona("grid1")).filter(pk=building.pk).exists()
    assert selectors.buildings_visible_to(persona(f"gw-{JIAHE}-G02")).filter(pk=building.pk).exists()


def test_building_move_refusals(persona):
    admin, district = persona("admin1"), persona("district1")
    building = buildings_of(grid(JIAHE, 1))[0]
    with raises("grid", "已在该网格"):
        services.building_move(actor=admin, building=building, grid=grid(JIAHE, 1))
    with raises("grid", "小区所在社区"):
        services.building_move(actor=district, building=building, grid=grid(XINGAN, 1))
    with raises("grid", "有效的网格"):
        services.building_move(actor=district, building=building, grid=area(JIAHE))
    with pytest.raises(NotFound):
        services.building_move(actor=admin, building=building, grid=grid(HENGDA, 1))
    with pytest.raises(PermissionDenied):
        services.building_move(actor=persona("grid1"), building=building, grid=grid(JIAHE, 2))
    building.refresh_from_db()
    assert building.grid == grid(JIAHE, 1)
    assert not AuditEntry.objects.filter(action="building.move").exists()


# Dwellings -----------------------------------------------------------------------------------------


def test_dwelling_rules(persona):
    admin = persona("admin1")
    building = buildings_of(grid(JIAHE, 1))[0]
    unit = building.units.order_by("name").first()
    other_unit = Unit.objects.exclude(building=building).first()
    base = {"actor": admin, "building": building, "unit": unit, "room": "109", "floor": 1}
    with raises("floor", "层数"):
        services.dwelling_create(**{**base, "floor": 5})
    with raises("room", "已有房号 101"):
        services.dwelling_create(**{**base, "room": "101"})
    with raises("unit", "不属于"):
        services.dwelling_create(**{**base, "unit": other_unit})
    with raises("housing_type", "无效"):
        services.dwelling_create(**base, housing_type="castle")
    with raises("floor_area", "大于 0"):
        services.dwelling_create(**base, floor_area="-3")
    dwelling = services.dwelling_create(**base, housing_type=HousingType.RESETTLEMENT, floor_area="75.456")
    assert dwelling.floor_area == Decimal("75.46") and dwelling.housing_type == "resettlement"
    assert Dwelling.objects.filter(building=building, room="109").count() == 1
    assert AuditEntry.objects.filter(action="dwelling.create", target_id=str(dwelling.pk)).count() == 1


# The change log ---------------------------------------------------------------------------------------


def test_change_log_names_related_objects_only_within_scope(persona):
    admin = persona("admin1")
    g2 = grid(JIAHE, 2)
    liaison = persona("liaison1")
    building = liaison.dwellings.first().building
    services.building_move(actor=admin, building=building, grid=g2)
    services.building_update(actor=admin, building=building, name="1号楼", floors=5)

    entries, page = selectors.change_log(admin, building)
    assert [e.kind for e in entries] == ["changed", "changed", "created"]
    assert entries[0].who == "赵书记" and entries[-1].who == "系统"
    assert [(c.label, c.old, c.new) for c in entries[0].changes] == [("层数", "4", "5")]
    assert [(c.label, c.old, c.new) for c in entries[1].changes] == [("网格", "嘉和社区第1网格", "嘉和社区第2网格")]
    # The liaison's scope follows the building to 第2网格; the old grid is not theirs to name.
    entries, _ = selectors.change_log(liaison, building)
    assert [(c.old, c.new) for c in entries[1].changes] == [("（不在管辖范围内）", "嘉和社区第2网格")]
    assert page.paginator.count == 3


def test_change_log_pages_and_diffs_across_the_page_edge(persona):
    admin = persona("admin1")
    new = empty_grid(admin, name="名0")
    for n in range(1, 5):
        services.area_update(actor=admin, area=new, name=f"名{n}", code=f"JH-N{n}")
    entries, page = selectors.change_log(admin, new, page=2, per_page=2)
    # Newest first: page 2 holds the 2nd and 1st renames; the latter is diffed against the creation.
    assert [e.changes[-1].new for e in entries] == ["名2", "名1"]
    assert [(c.label, c.old, c.new) for c in entries[-1].changes if c.label == "名称"] == [("名称", "名0", "名1")]
    assert page.paginator.num_pages == 3
    last, _ = selectors.change_log(admin, new, page=3, per_page=2)
    assert [e.kind for e in last] == ["created"]


def test_role_table_gives_district_staff_place_management():
    managers = {role for role, caps in ROLE_CAPABILITIES.items() if Capability.MANAGE_PLACES in caps}
    assert managers == {Role.COMMUNITY_ADMIN, Role.DISTRICT_STAFF}
