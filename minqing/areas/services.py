"""Writes of the area tree and places. Each service checks the actor's role and scope, validates,
writes with history (simple-history, the actor recorded) and an audit entry, in one transaction."""

import json
import re
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import shape

from minqing.accounts.roles import Capability, has_capability
from minqing.accounts.services import staff_follow_places
from minqing.areas import selectors
from minqing.areas.models import PARENT_LEVEL, Area, AreaLevel, Building, Dwelling, Estate, HousingType, Unit
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied

_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# `area_update` leaves the boundary alone unless one is passed (None clears it).
_KEEP = object()


def _require_manager(actor) -> None:
    if not has_capability(actor, Capability.MANAGE_PLACES):
        raise PermissionDenied()


def _save(obj: Model, *, actor, action: str, fields: list[str] | None = None, request=None, data=None) -> None:
    obj._history_user = actor  # simple-history records who made the change
    if fields is None:
        obj.save()
    else:
        obj.save(update_fields=fields)
    audit_record(action=action, actor=actor, target=obj, request=request, data=data or {})


def _require_active(obj, field: str) -> None:
    """A retired node or place is kept for the record only: nothing is changed or added under it."""
    if obj.retired_at is not None:
        raise ApplicationError(_("%(name)s 已撤销，不能再修改或在其下新增。") % {"name": obj}, field=field)


def _retire[M: Model](obj: M, *, actor, field: str, blockers=(), request=None) -> M:
    """Retire, never delete: refused while anything active still hangs on the object (each blocker a
    queryset and the message saying what to do first); retiring twice changes nothing."""
    if obj.retired_at is not None:
        return obj
    for pending, message in blockers:
        if pending.exists():
            raise ApplicationError(message, field=field)
    obj.retired_at = timezone.now()
    _save(obj, actor=actor, action=f"{obj._meta.model_name}.retire", fields=["retired_at"], request=request)
    return obj


def _clean_name(value: str, field: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ApplicationError(_("此项为必填项。"), field=field)
    if len(value) > max_length:
        raise ApplicationError(_("不能超过 %(n)d 个字符。") % {"n": max_length}, field=field)
    return value


def _clean_code(value: str, *, exclude_pk=None) -> str:
    value = (value or "").strip()
    if not _CODE_RE.match(value):
        raise ApplicationError(_("编码只能由字母、数字、短横线和下划线组成，最长 32 位。"), field="code")
    if Area.objects.filter(code=value).exclude(pk=exclude_pk).exists():
        raise ApplicationError(_("编码 %(code)s 已被使用。") % {"code": value}, field="code")
    return value


def clean_boundary(value) -> dict | None:
    """A GeoJSON Polygon or MultiPolygon (a Feature is unwrapped), valid as geometry."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApplicationError(_("边界不是有效的 GeoJSON。"), field="boundary") from None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise ApplicationError(_("边界须为 GeoJSON 的 Polygon 或 MultiPolygon。"), field="boundary")
    try:
        geometry = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        raise ApplicationError(_("边界坐标格式不正确。"), field="boundary") from None
    if geometry.is_empty or not geometry.is_valid:
        raise ApplicationError(_("边界多边形无效（自相交或不闭合）。"), field="boundary")
    return value


def _path_for(area: Area) -> str:
    return f"{area.parent.path if area.parent_id else '/'}{area.pk}/"


@transaction.atomic
def area_create(*, actor, parent: Area | None, level: str, code: str, name: str, boundary=None, request=None) -> Area:
    _require_manager(actor)
    if level not in AreaLevel.values:
        raise ApplicationError(_("层级无效。"), field="level")
    if parent is None or PARENT_LEVEL[level] != parent.level:
        raise ApplicationError(_("上级区域的层级与所建区域不符。"), field="parent")
    parent = selectors.access_area(actor, parent.pk)
    if parent.is_retired:
        raise ApplicationError(_("上级区域已撤销。"), field="parent")
    area = Area(
        parent=parent,
        level=level,
        code=_clean_code(code),
        name=_clean_name(name, "name", 100),
        boundary=clean_boundary(boundary) if level == AreaLevel.GRID else None,
        path="",
    )
    area._history_user = actor
    area.save()
    area.path = _path_for(area)
    Area.objects.filter(pk=area.pk).update(path=area.path)
    audit_record(action="area.create", actor=actor, target=area, request=request)
    return area


@transaction.atomic
def area_create_root(*, code: str, name: str) -> Area:
    """The district at the root of the tree; only at deployment (manage.py bootstrap), only once."""
    if Area.objects.filter(level=AreaLevel.DISTRICT).exists():
        raise ApplicationError(_("区/县已存在，不能再次初始化。"), field="district_code")
    area = Area(level=AreaLevel.DISTRICT, code=_clean_code(code), name=_clean_name(name, "name", 100), path="")
    area.save()
    area.path = _path_for(area)
    Area.objects.filter(pk=area.pk).update(path=area.path)
    audit_record(action="area.create", target=area, actor_name="bootstrap")
    return area


@transaction.atomic
def area_update(*, actor, area: Area, name: str, code: str, boundary=_KEEP, request=None) -> Area:
    _require_manager(actor)
    area = selectors.access_area(actor, area.pk)
    _require_active(area, "area")
    old = {"name": area.name, "code": area.code}
    area.name = _clean_name(name, "name", 100)
    area.code = _clean_code(code, exclude_pk=area.pk)
    # Clearing the (absent) boundary of a non-grid is harmless; setting one is refused.
    if boundary is not _KEEP and (area.level == AreaLevel.GRID or boundary not in (None, "", {})):
        area.boundary = _grid_boundary(area, boundary)
    _save(
        area,
        actor=actor,
        action="area.update",
        fields=["name", "code", "boundary"],
        request=request,
        data={"old": old, "new": {"name": area.name, "code": area.code}},
    )
    return area


def _grid_boundary(area: Area, value) -> dict | None:
    """Only a grid carries a boundary polygon."""
    if area.level != AreaLevel.GRID:
        raise ApplicationError(_("只有网格可以设置边界。"), field="boundary")
    return clean_boundary(value)


@transaction.atomic
def area_set_boundary(*, actor, area: Area, boundary, request=None) -> Area:
    """Set (or, with an empty value, clear) a grid's boundary polygon."""
    _require_manager(actor)
    area = selectors.access_area(actor, area.pk)
    _require_active(area, "area")
    had = area.boundary is not None
    area.boundary = _grid_boundary(area, boundary)
    _save(
        area,
        actor=actor,
        action="area.boundary",
        fields=["boundary"],
        request=request,
        data={"had_boundary": had, "has_boundary": area.boundary is not None},
    )
    return area


@transaction.atomic
def area_move(*, actor, area: Area, new_parent: Area, request=None) -> Area:
    """Re-attach a node (e.g. a grid to another community); its subtree's paths follow."""
    _require_manager(actor)
    area = selectors.access_area(actor, area.pk)
    _require_active(area, "area")
    new_parent = selectors.access_area(actor, new_parent.pk)
    if PARENT_LEVEL[area.level] != new_parent.level:
        raise ApplicationError(_("新的上级区域层级不符。"), field="parent")
    if new_parent.is_retired:
        raise ApplicationError(_("上级区域已撤销。"), field="parent")
    if new_parent.pk == area.parent_id:
        raise ApplicationError(_("已在该上级区域之下。"), field="parent")
    # A building's estate belongs to the grid's community; a grid that still holds buildings would
    # carry them away from their estate's community, so the buildings are handed over first.
    if area.level == AreaLevel.GRID and area.buildings.active().exists():
        raise ApplicationError(
            _("该网格仍有楼栋（属于原社区的小区），请先把楼栋划入原社区的其他网格再迁移。"), field="parent"
        )
    old_parent, old_path = area.parent, area.path
    area.parent = new_parent
    _save(
        area,
        actor=actor,
        action="area.move",
        fields=["parent"],
        request=request,
        data={"from": old_parent.name if old_parent else "", "to": new_parent.name},
    )
    new_path = _path_for(area)
    for node in Area.objects.filter(path__startswith=old_path).select_for_update():
        Area.objects.filter(pk=node.pk).update(path=new_path + node.path[len(old_path) :])
    area.path = new_path
    return area


@transaction.atomic
def area_retire(*, actor, area: Area, request=None) -> Area:
    _require_manager(actor)
    area = selectors.access_area(actor, area.pk)
    blockers = [(area.children.active(), _("请先撤销或迁出其下级区域。"))]
    if area.level == AreaLevel.GRID:
        blockers.append((area.buildings.active(), _("该网格仍有楼栋，请先把楼栋划入其他网格。")))
    if area.level == AreaLevel.COMMUNITY:
        blockers.append((area.estates.active(), _("该社区仍有小区，请先撤销小区。")))
    blockers.append((area.staff.filter(is_active=True), _("仍有在职人员挂在该区域，请先调整其所属区域。")))
    return _retire(area, actor=actor, field="area", blockers=blockers, request=request)


# Places ------------------------------------------------------------------------------------------


def _require_community(actor, community: Area) -> Area:
    community = selectors.access_area(actor, community.pk)
    if community.level != AreaLevel.COMMUNITY or community.is_retired:
        raise ApplicationError(_("请选择一个有效的社区。"), field="community")
    return community


def _require_grid(actor, grid: Area, community: Area) -> Area:
    grid = selectors.access_area(actor, grid.pk)
    if grid.level != AreaLevel.GRID or grid.is_retired:
        raise ApplicationError(_("请选择一个有效的网格。"), field="grid")
    if grid.parent_id != community.pk:
        raise ApplicationError(_("网格须属于小区所在社区。"), field="grid")
    return grid


@transaction.atomic
def estate_create(*, actor, community: Area, name: str, address: str = "", request=None) -> Estate:
    _require_manager(actor)
    community = _require_community(actor, community)
    name = _clean_name(name, "name", 100)
    if Estate.objects.active().filter(community=community, name=name).exists():
        raise ApplicationError(_("本社区已有同名小区。"), field="name")
    estate = Estate(community=community, name=name, address=(address or "").strip()[:200])
    _save(estate, actor=actor, action="estate.create", request=request)
    return estate


@transaction.atomic
def estate_update(*, actor, estate: Estate, name: str, address: str = "", request=None) -> Estate:
    _require_manager(actor)
    estate = selectors.access_estate(actor, estate.pk)
    _require_active(estate, "estate")
    name = _clean_name(name, "name", 100)
    if Estate.objects.active().filter(community=estate.community_id, name=name).exclude(pk=estate.pk).exists():
        raise ApplicationError(_("本社区已有同名小区。"), field="name")
    estate.name, estate.address = name, (address or "").strip()[:200]
    _save(estate, actor=actor, action="estate.update", fields=["name", "address"], request=request)
    return estate


@transaction.atomic
def estate_retire(*, actor, estate: Estate, request=None) -> Estate:
    _require_manager(actor)
    estate = selectors.access_estate(actor, estate.pk)
    blockers = [(estate.buildings.active(), _("请先撤销该小区的楼栋。"))]
    return _retire(estate, actor=actor, field="estate", blockers=blockers, request=request)


def _clean_floors(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        floors = int(value)
    except (TypeError, ValueError):
        raise ApplicationError(_("层数须为整数。"), field="floors") from None
    if not 1 <= floors <= 200:
        raise ApplicationError(_("层数须在 1 到 200 之间。"), field="floors")
    return floors


@transaction.atomic
def building_create(*, actor, estate: Estate, grid: Area, name: str, floors=None, request=None) -> Building:
    _require_manager(actor)
    estate = selectors.access_estate(actor, estate.pk)
    _require_active(estate, "estate")
    grid = _require_grid(actor, grid, estate.community)
    name = _clean_name(name, "name", 50)
    if Building.objects.active().filter(estate=estate, name=name).exists():
        raise ApplicationError(_("该小区已有同名楼栋。"), field="name")
    building = Building(estate=estate, grid=grid, name=name, floors=_clean_floors(floors))
    _save(building, actor=actor, action="building.create", request=request)
    return building


@transaction.atomic
def building_update(*, actor, building: Building, name: str, floors=None, request=None) -> Building:
    _require_manager(actor)
    building = selectors.access_building(actor, building.pk)
    _require_active(building, "building")
    name = _clean_name(name, "name", 50)
    if Building.objects.active().filter(estate=building.estate_id, name=name).exclude(pk=building.pk).exists():
        raise ApplicationError(_("该小区已有同名楼栋。"), field="name")
    building.name, building.floors = name, _clean_floors(floors)
    _save(building, actor=actor, action="building.update", fields=["name", "floors"], request=request)
    return building


@transaction.atomic
def building_move(*, actor, building: Building, grid: Area, request=None) -> Building:
    """Hand a building to another grid (and so to that grid's worker); history keeps the old grid."""
    _require_manager(actor)
    building = selectors.access_building(actor, building.pk)
    _require_active(building, "building")
    grid = _require_grid(actor, grid, building.estate.community)
    if grid.pk == building.grid_id:
        raise ApplicationError(_("楼栋已在该网格。"), field="grid")
    old = building.grid
    building.grid = grid
    _save(
        building,
        actor=actor,
        action="building.move",
        fields=["grid"],
        request=request,
        data={"from": old.name, "to": grid.name},
    )
    # The liaisons and building heads of these households keep looking after them: they follow the
    # building to its new grid (and its grid worker) when everything they look after is now there.
    staff_follow_places(actor=actor, building=building, request=request)
    return building


@transaction.atomic
def building_retire(*, actor, building: Building, request=None) -> Building:
    _require_manager(actor)
    building = selectors.access_building(actor, building.pk)
    blockers = [(building.dwellings.active(), _("请先撤销该楼栋的房屋。"))]
    building = _retire(building, actor=actor, field="building", blockers=blockers, request=request)
    # Its (now empty) units go with it, each with its own history row.
    for unit in Unit.objects.active().filter(building=building):
        unit.retired_at = building.retired_at
        unit._history_user = actor
        unit.save(update_fields=["retired_at"])
    return building


@transaction.atomic
def unit_create(*, actor, building: Building, name: str, request=None) -> Unit:
    _require_manager(actor)
    building = selectors.access_building(actor, building.pk)
    _require_active(building, "building")
    name = _clean_name(name, "name", 30)
    if Unit.objects.active().filter(building=building, name=name).exists():
        raise ApplicationError(_("该楼栋已有同名单元。"), field="name")
    unit = Unit(building=building, name=name)
    _save(unit, actor=actor, action="unit.create", request=request)
    return unit


@transaction.atomic
def unit_update(*, actor, unit: Unit, name: str, request=None) -> Unit:
    _require_manager(actor)
    unit = selectors.access_unit(actor, unit.pk)
    _require_active(unit, "unit")
    name = _clean_name(name, "name", 30)
    if Unit.objects.active().filter(building=unit.building_id, name=name).exclude(pk=unit.pk).exists():
        raise ApplicationError(_("该楼栋已有同名单元。"), field="name")
    unit.name = name
    _save(unit, actor=actor, action="unit.update", fields=["name"], request=request)
    return unit


@transaction.atomic
def unit_retire(*, actor, unit: Unit, request=None) -> Unit:
    _require_manager(actor)
    unit = selectors.access_unit(actor, unit.pk)
    blockers = [(unit.dwellings.active(), _("请先撤销该单元的房屋。"))]
    return _retire(unit, actor=actor, field="unit", blockers=blockers, request=request)


def _clean_dwelling_fields(
    *, building: Building, unit: Unit | None, floor, room: str, housing_type: str, floor_area, exclude_pk=None
) -> dict:
    if unit is not None and unit.building_id != building.pk:
        raise ApplicationError(_("单元不属于该楼栋。"), field="unit")
    if unit is not None and unit.retired_at is not None:
        raise ApplicationError(_("该单元已撤销。"), field="unit")
    room = _clean_name(room, "room", 20)
    if floor in (None, ""):
        floor = None
    else:
        try:
            floor = int(floor)
        except (TypeError, ValueError):
            raise ApplicationError(_("楼层须为整数。"), field="floor") from None
        if building.floors and not (-5 <= floor <= building.floors):
            raise ApplicationError(_("楼层超出该楼栋的层数（%(n)d 层）。") % {"n": building.floors}, field="floor")
    if housing_type not in HousingType.values:
        raise ApplicationError(_("房屋类型无效。"), field="housing_type")
    if floor_area in (None, ""):
        floor_area = None
    else:
        try:
            floor_area = Decimal(str(floor_area)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ApplicationError(_("面积须为数字。"), field="floor_area") from None
        if not Decimal("0") < floor_area < Decimal("100000"):
            raise ApplicationError(_("面积须大于 0。"), field="floor_area")
    clash = Dwelling.objects.active().filter(building=building, unit=unit, room=room).exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(_("该楼栋单元已有房号 %(room)s。") % {"room": room}, field="room")
    return {"unit": unit, "floor": floor, "room": room, "housing_type": housing_type, "floor_area": floor_area}


@transaction.atomic
def dwelling_create(
    *,
    actor,
    building: Building,
    unit: Unit | None,
    room: str,
    floor=None,
    housing_type: str = HousingType.COMMERCIAL,
    floor_area=None,
    request=None,
) -> Dwelling:
    _require_manager(actor)
    building = selectors.access_building(actor, building.pk)
    _require_active(building, "building")
    unit = selectors.access_unit(actor, unit.pk) if unit is not None else None
    fields = _clean_dwelling_fields(
        building=building, unit=unit, floor=floor, room=room, housing_type=housing_type, floor_area=floor_area
    )
    dwelling = Dwelling(building=building, **fields)
    _save(dwelling, actor=actor, action="dwelling.create", request=request)
    return dwelling


@transaction.atomic
def dwelling_update(
    *,
    actor,
    dwelling: Dwelling,
    unit: Unit | None,
    room: str,
    floor=None,
    housing_type: str = HousingType.COMMERCIAL,
    floor_area=None,
    request=None,
) -> Dwelling:
    _require_manager(actor)
    dwelling = selectors.access_dwelling(actor, dwelling.pk)
    _require_active(dwelling, "dwelling")
    unit = selectors.access_unit(actor, unit.pk) if unit is not None else None
    fields = _clean_dwelling_fields(
        building=dwelling.building,
        unit=unit,
        floor=floor,
        room=room,
        housing_type=housing_type,
        floor_area=floor_area,
        exclude_pk=dwelling.pk,
    )
    for key, value in fields.items():
        setattr(dwelling, key, value)
    _save(dwelling, actor=actor, action="dwelling.update", fields=list(fields), request=request)
    return dwelling


@transaction.atomic
def dwelling_retire(*, actor, dwelling: Dwelling, request=None) -> Dwelling:
    _require_manager(actor)
    dwelling = selectors.access_dwelling(actor, dwelling.pk)
    return _retire(dwelling, actor=actor, field="dwelling", request=request)
