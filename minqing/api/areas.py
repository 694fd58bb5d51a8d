"""The area tree (区/县 → 街道/乡镇 → 社区/村 → 网格): reads through areas.selectors (the scope rule),
writes through the same areas.services the pages call."""

from datetime import datetime
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from minqing.accounts.roles import Capability, has_capability
from minqing.api.schemas import COMMON_ERRORS, ErrorOut, Id, Input, PageIn, Text, page_of
from minqing.api.security import BearerToken
from minqing.areas import selectors, services
from minqing.areas.models import Area, AreaLevel
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied

router = Router(tags=["区域"], auth=BearerToken(Capability.VIEW_PLACES))

# A GeoJSON position: longitude, latitude (and an optional height).
Position = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=3)]
Ring = Annotated[list[Position], Field(min_length=4)]


class PolygonIn(Input):
    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1)]


class MultiPolygonIn(Input):
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Annotated[list[Ring], Field(min_length=1)]], Field(min_length=1)]


Boundary = Annotated[PolygonIn | MultiPolygonIn, Field(discriminator="type")]


class AreaOut(Schema):
    id: int
    level: AreaLevel = Field(description="层级：district 区/县，subdistrict 街道/乡镇，community 社区/村，grid 网格")
    level_label: str = Field(description="层级的中文名")
    code: str = Field(description="编码，全区唯一")
    name: str
    parent_id: int | None = Field(description="上级区域；区/县为 null")
    has_boundary: bool = Field(description="是否有边界多边形（仅网格）")
    retired_at: datetime | None = Field(description="撤销时间；未撤销为 null")

    @staticmethod
    def resolve_level_label(obj: Area) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_has_boundary(obj: Area) -> bool:
        return obj.boundary is not None


class AncestorOut(Schema):
    id: int
    level: AreaLevel
    name: str


class AreaDetailOut(AreaOut):
    boundary: dict | None = Field(description="网格边界 (GeoJSON Polygon / MultiPolygon)")
    ancestors: list[AncestorOut] = Field(description="从区/县往下到上级的区域链（仅含可见的）")


class AreaList(Schema):
    count: int
    items: list[AreaOut]


class AreaFilter(PageIn):
    level: AreaLevel | None = Field(None, description="只列此层级")
    parent: Id | None = Field(None, description="只列此区域的直接下级")
    include_retired: bool = Field(False, description="是否包括已撤销的区域")


class AreaCreateIn(Input):
    parent: Id = Field(description="上级区域 id（层级须正好高一级）")
    level: AreaLevel = Field(description="新区域的层级")
    code: Text = Field(max_length=32, description="编码：字母、数字、短横线或下划线，全区唯一")
    name: Text = Field(max_length=100)
    boundary: Boundary | None = Field(None, description="网格边界 (GeoJSON)，可选；只用于网格")


class AreaUpdateIn(Input):
    name: Text | None = Field(None, max_length=100, description="新名称；不传则不变")
    code: Text | None = Field(None, max_length=32, description="新编码；不传则不变")
    boundary: Boundary | None = Field(None, description="网格边界；传 null 清除，不传则不变")


class AreaMoveIn(Input):
    parent: Id = Field(description="新的上级区域 id")


def _detail(user, area: Area) -> Area:
    # The chain as far as the viewer may see it, as on the area page.
    area.ancestors = list(
        selectors.areas_visible_to(user, include_retired=True)
        .filter(pk__in=selectors.area_ancestors(area).exclude(pk=area.pk).values("pk"))
        .order_by("path")
    )
    return area


def require_manage_places(user) -> None:
    # The same gate as the edit pages: checked after access_* (so out of scope stays a 404).
    if not has_capability(user, Capability.MANAGE_PLACES):
        raise PermissionDenied()


def referenced_area(user, pk: int, *, field: str, message: str) -> Area:
    """An area named in a request body: missing and out of scope are the same field error."""
    try:
        return selectors.access_area(user, pk)
    except NotFound:
        raise ApplicationError(message, field=field) from None


@router.get("/areas", response={200: AreaList, **COMMON_ERRORS}, operation_id="areas_list", summary="区域列表")
def areas_list(request, filters: Query[AreaFilter]):
    """管辖范围内的区域，按树的顺序（路径）排列。"""
    qs = selectors.areas_visible_to(request.auth, include_retired=filters.include_retired)
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.parent:
        qs = qs.filter(parent_id=filters.parent)
    return page_of(qs, filters, ordering=("path", "pk"))


@router.get(
    "/areas/{id}",
    response={200: AreaDetailOut, 404: ErrorOut, **COMMON_ERRORS},
    operation_id="areas_get",
    summary="区域详情",
)
def areas_get(request, id: int):
    """一个区域，含边界和上级链。不存在与不在管辖范围内一样答 404。"""
    return _detail(request.auth, selectors.access_area(request.auth, id))


@router.post(
    "/areas",
    response={201: AreaDetailOut, 400: ErrorOut, 403: ErrorOut, **COMMON_ERRORS},
    operation_id="areas_create",
    summary="新建区域（如网格）",
)
def areas_create(request, payload: AreaCreateIn):
    """在管辖范围内的上级区域下新建一个区域；需要“管理网格和房屋”权限。"""
    user = request.auth
    require_manage_places(user)
    parent = referenced_area(user, payload.parent, field="parent", message=_("上级区域不存在或不在管辖范围内。"))
    area = services.area_create(
        actor=user,
        parent=parent,
        level=payload.level,
        code=payload.code,
        name=payload.name,
        boundary=payload.boundary.model_dump() if payload.boundary else None,
        request=request,
    )
    return Status(201, _detail(user, area))


@router.patch(
    "/areas/{id}",
    response={200: AreaDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, **COMMON_ERRORS},
    operation_id="areas_update",
    summary="修改区域名称、编码或边界",
)
def areas_update(request, id: int, payload: AreaUpdateIn):
    """只改传入的字段。"""
    user = request.auth
    area = selectors.access_area(user, id)
    require_manage_places(user)
    given = payload.model_fields_set
    # The boundary only when sent: the service keeps it otherwise, and refuses one for a non-grid.
    boundary = {"boundary": payload.boundary.model_dump() if payload.boundary else None} if "boundary" in given else {}
    area = services.area_update(
        actor=user,
        area=area,
        name=payload.name if "name" in given else area.name,
        code=payload.code if "code" in given else area.code,
        request=request,
        **boundary,
    )
    return _detail(user, area)


@router.post(
    "/areas/{id}/move",
    response={200: AreaDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, **COMMON_ERRORS},
    operation_id="areas_move",
    summary="迁移区域到另一个上级",
)
def areas_move(request, id: int, payload: AreaMoveIn):
    """如把网格划到另一个社区；其下级随之迁移，历史保留。"""
    user = request.auth
    area = selectors.access_area(user, id)
    require_manage_places(user)
    parent = referenced_area(user, payload.parent, field="parent", message=_("新的上级区域不存在或不在管辖范围内。"))
    area = services.area_move(actor=user, area=area, new_parent=parent, request=request)
    return _detail(user, area)


@router.post(
    "/areas/{id}/retire",
    response={200: AreaDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, **COMMON_ERRORS},
    operation_id="areas_retire",
    summary="撤销区域",
)
def areas_retire(request, id: int):
    """撤销后不再出现在默认列表中，记录和历史保留。须先迁出其楼栋、下级区域和人员。"""
    user = request.auth
    area = selectors.access_area(user, id)
    require_manage_places(user)
    area = services.area_retire(actor=user, area=area, request=request)
    return _detail(user, area)
