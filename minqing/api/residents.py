"""Residents, households and care tags (一人一档). Reads through registry.selectors (the scope rule,
search, tags as the reader may see them), writes through registry.services — the same as the pages.

ID numbers and phones leave the server masked in every answer; the full value only through
POST /residents/{id}/reveal (needs the reveal permission and a reason, audited by the service).
Health notes and sensitive tags only for roles that may see them."""

import datetime
from typing import Literal

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from minqing.accounts.roles import Capability, has_capability
from minqing.api.schemas import COMMON_ERRORS, ErrorOut, Id, Input, PageIn, Ref, Text, page_of
from minqing.api.security import BearerToken
from minqing.core.errors import ApplicationError, NotFound
from minqing.registry import selectors, services
from minqing.registry.models import (
    ETHNICITIES,
    EventKind,
    Household,
    RegistrationType,
    Relation,
    Resident,
    ResidentStatus,
)

VIEW = BearerToken(Capability.VIEW_RESIDENTS)
MANAGE = BearerToken(Capability.MANAGE_RESIDENTS)
REVEAL = BearerToken(Capability.REVEAL_PII)
MANAGE_TAGS = BearerToken(Capability.MANAGE_TAGS)

router = Router(tags=["居民和户"], auth=VIEW)
tags_router = Router(tags=["标签"], auth=VIEW)

DETAIL_ERRORS = {404: ErrorOut, **COMMON_ERRORS}
WRITE_ERRORS = {400: ErrorOut, 404: ErrorOut, **COMMON_ERRORS}
_ETHNICITY_LABELS = dict(ETHNICITIES)
# What a dwelling's label and the age tags need, in one join.
_PLACE = ("dwelling__building__estate", "dwelling__building__grid", "dwelling__unit")


# Shapes -----------------------------------------------------------------------------------------


class DwellingRef(Schema):
    id: int
    address: str = Field(description="完整门牌：小区、楼栋、单元、房号")


class TagShown(Schema):
    id: int
    name: str = Field(description="标签名（分等级的含类别和等级，如“残疾（肢体2级）”）")
    automatic: bool = Field(description="按出生日期自动判定的年龄标签（如高龄）")
    sensitive: bool = Field(description="敏感标签（仅有权限的角色可见）")


class ResidentOut(Schema):
    id: int
    name: str
    sex: str = Field(description="M 男，F 女；不详为空")
    birth_date: datetime.date | None
    age: int | None = Field(description="今天的周岁")
    id_number_masked: str = Field(description="证件号码（脱敏）；完整号码须经 reveal 查看")
    phone_masked: str = Field(description="联系电话（脱敏）；完整号码须经 reveal 查看")
    relation: Relation = Field(description="与户主关系代码")
    relation_label: str
    household_id: int
    dwelling: DwellingRef
    registration_type: RegistrationType = Field(description="户籍类型代码")
    registration_type_label: str
    status: ResidentStatus = Field(description="active 在册，moved_out 已迁出，deceased 已故")
    status_label: str
    tags: list[TagShown] = Field(description="标签（敏感标签仅有权限的角色可见）")

    @staticmethod
    def resolve_age(obj: Resident) -> int | None:
        return obj.age_on(timezone.localdate())

    @staticmethod
    def resolve_relation_label(obj: Resident) -> str:
        return str(obj.get_relation_display())

    @staticmethod
    def resolve_dwelling(obj: Resident) -> dict:
        return {"id": obj.dwelling_id, "address": str(obj.dwelling)}

    @staticmethod
    def resolve_registration_type_label(obj: Resident) -> str:
        return str(obj.get_registration_type_display())

    @staticmethod
    def resolve_status_label(obj: Resident) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_tags(obj: Resident) -> list[dict]:
        return [
            {"id": t.tag_id, "name": t.name, "automatic": t.automatic, "sensitive": t.sensitive}
            for t in getattr(obj, "shown_tags", [])
        ]


class EventOut(Schema):
    kind: EventKind = Field(description="事项代码")
    kind_label: str
    occurred_on: datetime.date
    dwelling: DwellingRef = Field(description="发生在哪套房屋（迁入/换入的，或迁出的）")
    from_dwelling: DwellingRef | None = Field(description="换房时原来的房屋")
    destination: str = Field(description="迁往何处")
    note: str

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_dwelling(obj) -> dict:
        return {"id": obj.dwelling_id, "address": str(obj.dwelling)}

    @staticmethod
    def resolve_from_dwelling(obj) -> dict | None:
        return {"id": obj.from_dwelling_id, "address": str(obj.from_dwelling)} if obj.from_dwelling_id else None


class ResidentDetailOut(ResidentOut):
    document_kind: str = Field(description="证件类型代码")
    document_kind_label: str
    ethnicity: str = Field(description="民族代码 (GB/T 3304)；不详为空")
    ethnicity_label: str
    political_status: str
    occupation: str
    employer: str
    skills: str
    willing_to_serve: bool
    notes: str
    health_notes: str | None = Field(description="健康状况；无“查看健康和残疾信息”权限的角色为 null")
    moved_in_on: datetime.date | None
    left_on: datetime.date | None = Field(description="迁出或死亡日期")
    left_to: str = Field(description="迁往何处")
    events: list[EventOut] = Field(description="变动记录，新的在前")

    @staticmethod
    def resolve_document_kind_label(obj: Resident) -> str:
        return str(obj.get_document_kind_display())

    @staticmethod
    def resolve_ethnicity_label(obj: Resident) -> str:
        return _ETHNICITY_LABELS.get(obj.ethnicity, "")

    @staticmethod
    def resolve_health_notes(obj: Resident) -> str | None:
        # Set by _detail for the roles that may read it; absent means the reader may not.
        return getattr(obj, "health_notes_shown", None)

    @staticmethod
    def resolve_events(obj: Resident) -> list:
        return getattr(obj, "event_list", [])


class ResidentList(Schema):
    count: int
    items: list[ResidentOut]


class ResidentFilter(PageIn):
    q: Text | None = Field(
        None, max_length=100, description="姓名开头、拼音或首字母（zj 找到张杰）、证件号码或电话（精确）"
    )
    id_number: Text | None = Field(None, max_length=40, description="证件号码，精确匹配（大小写、全角均可）")
    phone: Text | None = Field(None, max_length=40, description="电话，精确匹配（可含空格、短横线）")
    tag: Id | None = Field(None, description="只列有此标签的（含按年龄自动判定的标签）")
    grid: Id | None = Field(None, description="只列此网格的")
    estate: Id | None = Field(None, description="只列此小区的")
    building: Id | None = Field(None, description="只列此楼栋的")
    dwelling: Id | None = Field(None, description="只列此房屋的")
    age_min: int | None = Field(None, ge=0, le=150, description="年龄下限（周岁，含）")
    age_max: int | None = Field(None, ge=0, le=150, description="年龄上限（周岁，含）")
    registration_type: RegistrationType | None = Field(None, description="户籍类型")
    status: Literal["active", "moved_out", "deceased", "all"] = Field(
        "active", description="状态，默认只列在册的；all 为全部"
    )


class ResidentFieldsIn(Input):
    """Values as a ledger or the form gives them: codes or their Chinese names (“子”、“汉族”、“户籍”)."""

    name: Text | None = Field(None, max_length=50, description="姓名")
    document_kind: Text | None = Field(None, max_length=20, description="证件类型（默认居民身份证）")
    id_number: Text | None = Field(None, max_length=40, description="证件号码；出生日期和性别由身份证号得出")
    birth_date: datetime.date | None = Field(None, description="出生日期（无身份证号时）")
    sex: Text | None = Field(None, max_length=4, description="性别：男/女 或 M/F")
    phone: Text | None = Field(None, max_length=40, description="联系电话")
    ethnicity: Text | None = Field(None, max_length=20, description="民族：代码或名称")
    registration_type: Text | None = Field(None, max_length=20, description="户籍类型：代码或名称")
    relation: Text | None = Field(None, max_length=20, description="与户主关系：代码或名称")
    political_status: Text | None = Field(None, max_length=20, description="政治面貌")
    occupation: Text | None = Field(None, max_length=100)
    employer: Text | None = Field(None, max_length=200)
    skills: Text | None = Field(None, max_length=200)
    willing_to_serve: bool | None = Field(None, description="愿意参与社区事务")
    notes: Text | None = Field(None, max_length=5000)
    health_notes: Text | None = Field(None, max_length=5000, description="健康状况；仅有权限的角色可填")
    moved_in_on: datetime.date | None = Field(None, description="迁入日期")


class ResidentCreateIn(ResidentFieldsIn):
    name: Text = Field(max_length=50, description="姓名")
    household: Id | None = Field(None, description="加入的户；不传则须给 dwelling，新立一户（本人为户主）")
    dwelling: Id | None = Field(None, description="新立一户时的房屋")


class MoveOutIn(Input):
    occurred_on: datetime.date = Field(description="迁出日期")
    destination: Text = Field(max_length=200, description="迁往何处（不详可填“不详”）")
    note: Text = Field("", max_length=500)


class DeceaseIn(Input):
    occurred_on: datetime.date = Field(description="死亡日期")
    note: Text = Field("", max_length=500)


class ChangeDwellingIn(Input):
    occurred_on: datetime.date = Field(description="换房日期")
    household: Id | None = Field(None, description="加入的户")
    dwelling: Id | None = Field(None, description="或：搬入的房屋（新立一户，本人为户主）")
    note: Text = Field("", max_length=500)


class ReturnIn(Input):
    occurred_on: datetime.date = Field(description="回迁日期")
    note: Text = Field("", max_length=500)


class TagAssignIn(Input):
    tag: Id
    grade: int | None = Field(None, description="等级 1–4（仅分等级的标签）")
    detail: Text = Field("", max_length=50, description="类别/说明，如“肢体”")


class TagsIn(Input):
    tags: list[TagAssignIn] = Field(
        max_length=100, description="居民的全部手工标签（替换原有的；看不到的敏感标签保持不变）"
    )


class RevealIn(Input):
    field: Literal["id_number", "phone"] = Field(description="id_number 证件号码，phone 联系电话")
    reason: Text = Field(max_length=200, description="查看原因（写入审计日志）")


class RevealOut(Schema):
    field: str
    value: str = Field(description="完整值")


# Reads ------------------------------------------------------------------------------------------


def _status_filter(status: str) -> str:
    return "" if status == "all" else status


def _detail(user, resident: Resident) -> Resident:
    selectors.attach_tags(user, [resident])
    if has_capability(user, Capability.VIEW_SENSITIVE):
        resident.health_notes_shown = resident.health_notes
    resident.event_list = selectors.resident_events(resident)
    return resident


def _resident(user, pk: int) -> Resident:
    return selectors.access_resident(user, pk)


def _referenced(fetch, field: str, message: str):
    """An object named in a request body: missing and out of scope are the same field error."""
    try:
        return fetch()
    except NotFound:
        raise ApplicationError(message, field=field) from None


@router.get(
    "/residents", response={200: ResidentList, **COMMON_ERRORS}, operation_id="residents_list", summary="居民查询"
)
def residents_list(request, filters: Query[ResidentFilter]):
    """管辖范围内的居民，按姓名拼音排序。证件号码和电话一律脱敏。"""
    if filters.age_min is not None and filters.age_max is not None and filters.age_min > filters.age_max:
        raise ApplicationError(_("年龄上限不能小于下限。"), field="age_max")
    search = selectors.ResidentFilters(
        q=filters.q or "",
        id_number=filters.id_number or "",
        phone=filters.phone or "",
        tag=filters.tag,
        grid=filters.grid,
        estate=filters.estate,
        building=filters.building,
        dwelling=filters.dwelling,
        age_min=filters.age_min,
        age_max=filters.age_max,
        registration_type=filters.registration_type or "",
        status=_status_filter(filters.status),
    )
    qs = selectors.search_residents(request.auth, search).select_related(*_PLACE)
    page = page_of(qs, filters, ordering=("name_pinyin", "pk"))
    selectors.attach_tags(request.auth, page["items"])
    return page


@router.get(
    "/residents/{id}",
    response={200: ResidentDetailOut, **DETAIL_ERRORS},
    operation_id="residents_get",
    summary="居民档案",
)
def residents_get(request, id: int):
    """一人一档。健康状况仅对有权限的角色给出。不存在与不在管辖范围内一样答 404。"""
    return _detail(request.auth, _resident(request.auth, id))


# Writes -----------------------------------------------------------------------------------------


def _fields(payload: ResidentFieldsIn, *, exclude=()) -> dict:
    # Only what the client sent: an update changes those fields and no others.
    return {k: getattr(payload, k) for k in payload.model_fields_set if k not in exclude}


def _household(user, pk: int | None, field: str = "household") -> Household | None:
    if pk is None:
        return None
    return _referenced(lambda: selectors.access_household(user, pk), field, _("户不存在或不在管辖范围内。"))


@router.post(
    "/residents",
    response={201: ResidentDetailOut, **WRITE_ERRORS},
    operation_id="residents_create",
    summary="登记居民",
    auth=MANAGE,
)
def residents_create(request, payload: ResidentCreateIn):
    """加入已有的户（household），或在房屋（dwelling）新立一户。同一证件号码全系统只登记一次。"""
    user = request.auth
    household = _household(user, payload.household)
    resident = services.resident_create(
        actor=user,
        data=_fields(payload, exclude={"household", "dwelling"}),
        household=household,
        dwelling=payload.dwelling,
        request=request,
    )
    return Status(201, _detail(user, _resident(user, resident.pk)))


@router.patch(
    "/residents/{id}",
    response={200: ResidentDetailOut, **WRITE_ERRORS},
    operation_id="residents_update",
    summary="修改居民档案",
    auth=MANAGE,
)
def residents_update(request, id: int, payload: ResidentFieldsIn):
    """只改传入的字段。迁出、死亡、换房、回迁走各自的操作。"""
    user = request.auth
    resident = _resident(user, id)
    services.resident_update(actor=user, resident=resident, data=_fields(payload), request=request)
    return _detail(user, _resident(user, id))


@router.post(
    "/residents/{id}/actions/move_out",
    response={200: ResidentDetailOut, **WRITE_ERRORS},
    operation_id="residents_move_out",
    summary="迁出",
    auth=MANAGE,
)
def residents_move_out(request, id: int, payload: MoveOutIn):
    """档案保留在原房屋，记下日期和去向。"""
    user = request.auth
    services.resident_move_out(
        actor=user,
        resident=_resident(user, id),
        occurred_on=payload.occurred_on,
        destination=payload.destination,
        note=payload.note,
        request=request,
    )
    return _detail(user, _resident(user, id))


@router.post(
    "/residents/{id}/actions/decease",
    response={200: ResidentDetailOut, **WRITE_ERRORS},
    operation_id="residents_decease",
    summary="登记死亡",
    auth=MANAGE,
)
def residents_decease(request, id: int, payload: DeceaseIn):
    user = request.auth
    services.resident_decease(
        actor=user, resident=_resident(user, id), occurred_on=payload.occurred_on, note=payload.note, request=request
    )
    return _detail(user, _resident(user, id))


@router.post(
    "/residents/{id}/actions/change_dwelling",
    response={200: ResidentDetailOut, **WRITE_ERRORS},
    operation_id="residents_change_dwelling",
    summary="换房",
    auth=MANAGE,
)
def residents_change_dwelling(request, id: int, payload: ChangeDwellingIn):
    """加入另一户（household），或搬入另一套房屋（dwelling，新立一户）。"""
    user = request.auth
    resident = _resident(user, id)
    household = _household(user, payload.household)
    services.resident_change_dwelling(
        actor=user,
        resident=resident,
        occurred_on=payload.occurred_on,
        household=household,
        dwelling=payload.dwelling,
        note=payload.note,
        request=request,
    )
    # Moved to a home the actor looks after (the service allows no other), so still in scope.
    return _detail(user, _resident(user, id))


@router.post(
    "/residents/{id}/actions/return",
    response={200: ResidentDetailOut, **WRITE_ERRORS},
    operation_id="residents_return",
    summary="回迁",
    auth=MANAGE,
)
def residents_return(request, id: int, payload: ReturnIn):
    user = request.auth
    services.resident_return(
        actor=user, resident=_resident(user, id), occurred_on=payload.occurred_on, note=payload.note, request=request
    )
    return _detail(user, _resident(user, id))


@router.put(
    "/residents/{id}/tags",
    response={200: ResidentDetailOut, **WRITE_ERRORS},
    operation_id="residents_set_tags",
    summary="设置居民标签",
    auth=MANAGE,
)
def residents_set_tags(request, id: int, payload: TagsIn):
    """替换居民的手工标签。年龄标签（如高龄）按出生日期自动判定，不能手工设置。"""
    user = request.auth
    services.resident_set_tags(
        actor=user,
        resident=_resident(user, id),
        tags=[item.model_dump() for item in payload.tags],
        request=request,
    )
    return _detail(user, _resident(user, id))


@router.post(
    "/residents/{id}/reveal",
    response={200: RevealOut, **WRITE_ERRORS},
    operation_id="residents_reveal",
    summary="查看完整证件号码或电话",
    auth=REVEAL,
)
def residents_reveal(request, id: int, payload: RevealIn):
    """一次只给一条记录的一个完整值，须写明原因；查看人、被查看人、时间和原因写入审计日志。"""
    user = request.auth
    value = services.resident_reveal(
        actor=user, resident=_resident(user, id), field=payload.field, reason=payload.reason, request=request
    )
    return {"field": payload.field, "value": value}


# Households -------------------------------------------------------------------------------------


class HouseholdOut(Schema):
    id: int
    number: str = Field(description="户号")
    dwelling: DwellingRef
    members: int = Field(description="在册人数")
    dissolved_at: datetime.datetime | None = Field(description="注销时间（最后一人离开时）；在用为 null")

    @staticmethod
    def resolve_dwelling(obj: Household) -> dict:
        return {"id": obj.dwelling_id, "address": str(obj.dwelling)}

    @staticmethod
    def resolve_members(obj: Household) -> int:
        return getattr(obj, "active_members", 0)


class HouseholdList(Schema):
    count: int
    items: list[HouseholdOut]


class HouseholdFilter(PageIn):
    dwelling: Id | None = Field(None, description="只列此房屋的户")
    include_dissolved: bool = Field(False, description="是否包括已注销的户")


class StaffOut(Schema):
    liaisons: list[str] = Field(description="联户长")
    building_heads: list[str] = Field(description="楼栋长")
    grid_workers: list[str] = Field(description="网格员")


class HouseholdDetailOut(Schema):
    id: int
    number: str
    dwelling: DwellingRef
    dissolved_at: datetime.datetime | None
    members: list[ResidentOut] = Field(description="在册成员（证件号码和电话脱敏）")
    former_members: list[ResidentOut] = Field(description="已迁出或已故的成员")
    staff: StaffOut = Field(description="负责这户的联户长、楼栋长、网格员")


@router.get(
    "/households", response={200: HouseholdList, **COMMON_ERRORS}, operation_id="households_list", summary="户列表"
)
def households_list(request, filters: Query[HouseholdFilter]):
    qs = (
        selectors.households_visible_to(request.auth)
        .select_related("dwelling__building__estate", "dwelling__unit")
        .annotate(active_members=Count("members", filter=Q(members__status=ResidentStatus.ACTIVE)))
    )
    if filters.dwelling:
        qs = qs.filter(dwelling_id=filters.dwelling)
    if not filters.include_dissolved:
        qs = qs.filter(dissolved_at__isnull=True)
    return page_of(qs, filters, ordering=("dwelling_id", "pk"))


@router.get(
    "/households/{id}",
    response={200: HouseholdDetailOut, **DETAIL_ERRORS},
    operation_id="households_get",
    summary="户详情",
)
def households_get(request, id: int):
    """一户的成员（脱敏）、房屋和负责的联户长、楼栋长、网格员。"""
    page = selectors.household_page(request.auth, id)
    household = page.household
    return {
        "id": household.pk,
        "number": household.number,
        "dwelling": {"id": household.dwelling_id, "address": str(household.dwelling)},
        "dissolved_at": household.dissolved_at,
        "members": page.members,
        "former_members": page.former_members,
        "staff": {role: [person.display_name for person in people] for role, people in page.staff.items()},
    }


# Tags -------------------------------------------------------------------------------------------


class TagOut(Schema):
    id: int
    name: str
    community: Ref | None = Field(description="所属社区；系统默认标签为 null")
    min_age: int | None = Field(description="年龄标签的默认起始年龄（按出生日期自动判定）；其他为 null")
    has_grade: bool = Field(description="分等级（如残疾：类别和 1–4 级）")
    sensitive: bool = Field(description="敏感标签（健康、残疾等），仅有权限的角色可见")
    retired_at: datetime.datetime | None


class TagList(Schema):
    count: int
    items: list[TagOut]


class TagFilter(PageIn):
    include_retired: bool = Field(False, description="是否包括已停用的")


class TagCreateIn(Input):
    community: Id | None = Field(None, description="所属社区；不传为系统默认标签（仅区级）")
    name: Text = Field(max_length=30)
    min_age: int | None = Field(None, description="年龄标签的起始年龄（1–129），按出生日期自动判定")
    has_grade: bool = False
    sensitive: bool = Field(False, description="敏感信息（健康、残疾等）")


@tags_router.get("/tags", response={200: TagList, **COMMON_ERRORS}, operation_id="tags_list", summary="标签列表")
def tags_list(request, filters: Query[TagFilter]):
    """系统默认标签和所在社区自己的标签；敏感标签仅对有权限的角色列出。"""
    qs = selectors.tags_visible_to(request.auth, include_retired=filters.include_retired).select_related("community")
    return page_of(qs, filters, ordering=("order", "pk"))


@tags_router.post(
    "/tags",
    response={201: TagOut, 400: ErrorOut, **COMMON_ERRORS},
    operation_id="tags_create",
    summary="新建社区标签",
    auth=MANAGE_TAGS,
)
def tags_create(request, payload: TagCreateIn):
    user = request.auth
    # The community is the only thing the service looks up: not found there is this field's error.
    tag = _referenced(
        lambda: services.tag_create(
            actor=user,
            community=payload.community,
            name=payload.name,
            min_age=payload.min_age,
            has_grade=payload.has_grade,
            sensitive=payload.sensitive,
            request=request,
        ),
        "community",
        _("社区不存在或不在管辖范围内。"),
    )
    return Status(201, selectors.access_tag(user, tag.pk))
