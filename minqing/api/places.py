"""Places (小区 → 楼栋 → 单元 → 房屋): reads through areas.selectors (the scope rule), the one write
(a building handed to another grid) through areas.services.building_move, as on the page."""

from datetime import datetime

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from minqing.accounts.roles import Capability
from minqing.api.areas import referenced_area, require_manage_places
from minqing.api.schemas import COMMON_ERRORS, ErrorOut, Id, Input, PageIn, Ref, page_of
from minqing.api.security import BearerToken
from minqing.areas import selectors, services
from minqing.areas.models import Dwelling, HousingType, Unit

router = Router(tags=["小区和房屋"], auth=BearerToken(Capability.VIEW_PLACES))

DETAIL_ERRORS = {404: ErrorOut, **COMMON_ERRORS}


class PlaceFilter(PageIn):
    include_retired: bool = Field(False, description="是否包括已撤销的")


# Estates (小区) ----------------------------------------------------------------------------------


class EstateOut(Schema):
    id: int
    name: str
    address: str
    community: Ref = Field(description="所属社区")
    retired_at: datetime | None


class EstateList(Schema):
    count: int
    items: list[EstateOut]


@router.get("/estates", response={200: EstateList, **COMMON_ERRORS}, operation_id="estates_list", summary="小区列表")
def estates_list(request, filters: Query[PlaceFilter]):
    qs = selectors.estates_visible_to(request.auth, include_retired=filters.include_retired)
    return page_of(qs, filters, ordering=("community__path", "name", "pk"))


@router.get("/estates/{id}", response={200: EstateOut, **DETAIL_ERRORS}, operation_id="estates_get", summary="小区详情")
def estates_get(request, id: int):
    return selectors.access_estate(request.auth, id)


# Buildings (楼栋) --------------------------------------------------------------------------------


class BuildingOut(Schema):
    id: int
    name: str
    floors: int | None = Field(description="层数")
    estate: Ref = Field(description="所属小区")
    grid: Ref = Field(description="所属网格")
    retired_at: datetime | None


class BuildingList(Schema):
    count: int
    items: list[BuildingOut]


class BuildingFilter(PlaceFilter):
    estate: Id | None = Field(None, description="只列此小区的楼栋")
    grid: Id | None = Field(None, description="只列此网格的楼栋")


class BuildingMoveIn(Input):
    grid: Id = Field(description="新的网格 id（须属于小区所在社区）")


@router.get(
    "/buildings", response={200: BuildingList, **COMMON_ERRORS}, operation_id="buildings_list", summary="楼栋列表"
)
def buildings_list(request, filters: Query[BuildingFilter]):
    qs = selectors.buildings_visible_to(request.auth, include_retired=filters.include_retired)
    if filters.estate:
        qs = qs.filter(estate_id=filters.estate)
    if filters.grid:
        qs = qs.filter(grid_id=filters.grid)
    return page_of(qs, filters, ordering=("estate_id", "name", "pk"))


@router.get(
    "/buildings/{id}", response={200: BuildingOut, **DETAIL_ERRORS}, operation_id="buildings_get", summary="楼栋详情"
)
def buildings_get(request, id: int):
    return selectors.access_building(request.auth, id)


@router.post(
    "/buildings/{id}/move",
    response={200: BuildingOut, 400: ErrorOut, 403: ErrorOut, **DETAIL_ERRORS},
    operation_id="buildings_move",
    summary="把楼栋划入另一个网格",
)
def buildings_move(request, id: int, payload: BuildingMoveIn):
    """楼栋改由另一个网格（及其网格员）负责；历史记录保留原网格。需要“管理网格和房屋”权限。"""
    user = request.auth
    building = selectors.access_building(user, id)
    require_manage_places(user)
    grid = referenced_area(user, payload.grid, field="grid", message=_("网格不存在或不在管辖范围内。"))
    services.building_move(actor=user, building=building, grid=grid, request=request)
    return selectors.access_building(user, id)


# Units (单元) ------------------------------------------------------------------------------------


class UnitOut(Schema):
    id: int
    name: str
    building: Ref = Field(description="所属楼栋（名称含小区）")
    retired_at: datetime | None

    @staticmethod
    def resolve_building(obj: Unit) -> dict:
        return {"id": obj.building_id, "name": str(obj.building)}


class UnitList(Schema):
    count: int
    items: list[UnitOut]


class UnitFilter(PlaceFilter):
    building: Id | None = Field(None, description="只列此楼栋的单元")


@router.get("/units", response={200: UnitList, **COMMON_ERRORS}, operation_id="units_list", summary="单元列表")
def units_list(request, filters: Query[UnitFilter]):
    qs = selectors.units_visible_to(request.auth, include_retired=filters.include_retired)
    if filters.building:
        qs = qs.filter(building_id=filters.building)
    return page_of(qs, filters, ordering=("building_id", "name", "pk"))


@router.get("/units/{id}", response={200: UnitOut, **DETAIL_ERRORS}, operation_id="units_get", summary="单元详情")
def units_get(request, id: int):
    return selectors.access_unit(request.auth, id)


# Dwellings (房屋) --------------------------------------------------------------------------------


class DwellingOut(Schema):
    id: int
    address: str = Field(description="完整门牌：小区、楼栋、单元、房号")
    room: str = Field(description="房号")
    floor: int | None = Field(description="楼层")
    housing_type: HousingType = Field(description="房屋类型代码")
    housing_type_label: str = Field(description="房屋类型中文名")
    floor_area: float | None = Field(description="面积（平方米）")
    building: Ref
    unit: Ref | None = Field(description="所属单元；平房为 null")
    retired_at: datetime | None

    @staticmethod
    def resolve_address(obj: Dwelling) -> str:
        return str(obj)

    @staticmethod
    def resolve_housing_type_label(obj: Dwelling) -> str:
        return str(obj.get_housing_type_display())

    @staticmethod
    def resolve_floor_area(obj: Dwelling) -> float | None:
        return float(obj.floor_area) if obj.floor_area is not None else None

    @staticmethod
    def resolve_building(obj: Dwelling) -> dict:
        return {"id": obj.building_id, "name": str(obj.building)}


class DwellingList(Schema):
    count: int
    items: list[DwellingOut]


class DwellingFilter(PlaceFilter):
    building: Id | None = Field(None, description="只列此楼栋的房屋")
    unit: Id | None = Field(None, description="只列此单元的房屋")


@router.get(
    "/dwellings", response={200: DwellingList, **COMMON_ERRORS}, operation_id="dwellings_list", summary="房屋列表"
)
def dwellings_list(request, filters: Query[DwellingFilter]):
    qs = selectors.dwellings_visible_to(request.auth, include_retired=filters.include_retired)
    if filters.building:
        qs = qs.filter(building_id=filters.building)
    if filters.unit:
        qs = qs.filter(unit_id=filters.unit)
    return page_of(qs, filters, ordering=("building_id", "unit_id", "floor", "room", "pk"))


@router.get(
    "/dwellings/{id}", response={200: DwellingOut, **DETAIL_ERRORS}, operation_id="dwellings_get", summary="房屋详情"
)
def dwellings_get(request, id: int):
    return selectors.access_dwelling(request.auth, id)
