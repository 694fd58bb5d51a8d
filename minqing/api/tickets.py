"""Demands (诉求清单账) under /api/v1/tickets: intake, the scoped list, the detail with its timeline, and
every lifecycle step as POST /tickets/{number}/actions/{action}. Reads through tickets.selectors (the
one scope rule), writes through tickets.services (ticket_create, ticket_act) — the same as the pages.

Every role has some demands in scope (a liaison those of their households, a department those
dispatched or whistled to its unit), so the endpoints need no capability: what one may see is
tickets_visible_to, who may register is lifecycle.REPORTERS and who may take a step is the lifecycle
table, both asked by the services."""

import datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from minqing.api.schemas import COMMON_ERRORS, ErrorOut, Id, Input, PageIn, Ref, Text
from minqing.api.security import BearerToken
from minqing.core.errors import ApplicationError, NotFound
from minqing.core.pii import mask_phone
from minqing.registry import selectors as registry
from minqing.tickets import lifecycle, selectors, services
from minqing.tickets.lifecycle import Status
from minqing.tickets.models import Category, Channel, Level, Ticket, TicketEvent, Urgency, Whistle

router = Router(tags=["诉求"], auth=BearerToken())

DETAIL_ERRORS = {404: ErrorOut, **COMMON_ERRORS}
WRITE_ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, **COMMON_ERRORS}
# Everything the list and the detail print of a demand, in one join.
_RELATED = (
    "category__parent",
    "category__default_department",
    "area",
    "dwelling__building__estate",
    "dwelling__unit",
    "building__estate",
    "reporter_resident",
    "handler",
    "department",
    "merged_into",
)


# Categories -------------------------------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    name: str
    parent_id: int | None
    path_name: str = Field(description="含上级的全名，如“市政设施/下水堵塞”")
    accept_hours: int = Field(description="受理时限（小时），本级未设时取上级的")
    finish_working_days: int = Field(description="办结时限（工作日），本级未设时取上级的")
    urgent_finish_hours: int | None = Field(description="紧急件办结时限（小时）；null 表示紧急件也按工作日计")
    default_department: Ref | None = Field(description="默认承办单位")


class CategoryList(Schema):
    count: int
    items: list[CategoryOut]


def _category_tree() -> list[dict]:
    """The active categories in tree order, each with its effective limits: one query, the parents
    linked in memory so that services.category_limits walks them without asking the database."""
    nodes = list(Category.objects.select_related("default_department").order_by("order", "pk"))
    by_id = {c.pk: c for c in nodes}
    for node in nodes:
        if node.parent_id:
            node.parent = by_id[node.parent_id]

    def active(node) -> bool:
        while node is not None:
            if node.retired_at is not None:
                return False
            node = node.parent
        return True

    def names(node) -> list[str]:
        return [*names(node.parent), node.name] if node.parent_id else [node.name]

    def sort_key(node) -> list[tuple[int, int]]:
        chain = []
        while node is not None:
            chain.insert(0, (node.order, node.pk))
            node = node.parent
        return chain

    out = []
    for node in sorted((n for n in nodes if active(n)), key=sort_key):
        accept, finish, urgent = services.category_limits(node)
        department = node.default_department
        out.append(
            {
                "id": node.pk,
                "name": node.name,
                "parent_id": node.parent_id,
                "path_name": "/".join(names(node)),
                "accept_hours": accept,
                "finish_working_days": finish,
                "urgent_finish_hours": urgent,
                "default_department": {"id": department.pk, "name": department.name} if department else None,
            }
        )
    return out


@router.get(
    "/tickets/categories",
    response={200: CategoryList, **COMMON_ERRORS},
    operation_id="tickets_categories",
    summary="诉求分类及时限",
)
def tickets_categories(request, paging: Query[PageIn]):
    """分类树（按树的顺序，上级在前），含每类实际适用的受理、办结时限和默认承办单位；已停用的不列。"""
    tree = _category_tree()
    return {"count": len(tree), "items": tree[paging.offset : paging.offset + paging.limit]}


# Shapes -----------------------------------------------------------------------------------------


class CategoryRef(Schema):
    id: int
    name: str
    path_name: str


class PlaceOut(Schema):
    dwelling: Ref | None = Field(description="房屋（完整门牌）")
    building: Ref | None = Field(description="楼栋")
    area: Ref = Field(description="所属区域（网格或更高层级）")
    latitude: Decimal | None
    longitude: Decimal | None


class ReporterOut(Schema):
    resident: Ref | None = Field(description="登记在册的反映人")
    name: str
    phone_masked: str = Field(description="联系电话（脱敏）")


class TicketOut(Schema):
    id: int
    number: str = Field(description="编号，如 MQ20251031-0042")
    status: Status
    status_label: str
    channel: Channel
    channel_label: str
    category: CategoryRef
    urgency: Urgency
    urgency_label: str
    description: str
    place: PlaceOut
    reporter: ReporterOut
    received_at: datetime.datetime = Field(description="接收时间（时限从此起算）")
    registered_at: datetime.datetime
    accept_due_at: datetime.datetime = Field(description="受理期限")
    finish_due_at: datetime.datetime = Field(description="办结期限")
    deadline_provisional: bool = Field(description="期限跨入尚未公布放假安排的年份，暂按周末和法定节日计算")
    handler: Ref | None = Field(description="办理人")
    department: Ref | None = Field(description="承办单位")
    level: Level
    level_label: str
    due_soon: bool = Field(description="临期（已提醒）")
    overdue: bool = Field(description="超期（已标记）")
    warned_at: datetime.datetime | None
    overdue_at: datetime.datetime | None
    accepted_at: datetime.datetime | None
    handled_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    merged_into: str | None = Field(description="合并到的诉求编号")
    rating: str = Field(description="satisfied 满意，basically_satisfied 基本满意，unsatisfied 不满意；未评价为空")
    rating_label: str
    rating_comment: str

    @staticmethod
    def resolve_status_label(obj: Ticket) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_channel_label(obj: Ticket) -> str:
        return str(obj.get_channel_display())

    @staticmethod
    def resolve_urgency_label(obj: Ticket) -> str:
        return str(obj.get_urgency_display())

    @staticmethod
    def resolve_level_label(obj: Ticket) -> str:
        return str(Level(obj.level).label) if obj.level in Level.values else obj.level

    @staticmethod
    def resolve_category(obj: Ticket) -> dict:
        c = obj.category
        return {"id": c.pk, "name": c.name, "path_name": str(c)}

    @staticmethod
    def resolve_place(obj: Ticket) -> dict:
        return {
            "dwelling": {"id": obj.dwelling_id, "name": str(obj.dwelling)} if obj.dwelling_id else None,
            "building": {"id": obj.building_id, "name": str(obj.building)} if obj.building_id else None,
            "area": {"id": obj.area_id, "name": obj.area.name},
            "latitude": obj.latitude,
            "longitude": obj.longitude,
        }

    @staticmethod
    def resolve_reporter(obj: Ticket) -> dict:
        resident = obj.reporter_resident
        return {
            "resident": {"id": resident.pk, "name": resident.name} if resident else None,
            "name": obj.reporter_name or (resident.name if resident else ""),
            "phone_masked": mask_phone(obj.reporter_phone) if obj.reporter_phone else "",
        }

    @staticmethod
    def resolve_handler(obj: Ticket) -> dict | None:
        return {"id": obj.handler_id, "name": str(obj.handler)} if obj.handler_id else None

    @staticmethod
    def resolve_department(obj: Ticket) -> dict | None:
        return {"id": obj.department_id, "name": obj.department.name} if obj.department_id else None

    @staticmethod
    def resolve_due_soon(obj: Ticket) -> bool:
        return obj.warned_at is not None

    @staticmethod
    def resolve_overdue(obj: Ticket) -> bool:
        return obj.overdue_at is not None

    @staticmethod
    def resolve_merged_into(obj: Ticket) -> str | None:
        return obj.merged_into.number if obj.merged_into_id else None

    @staticmethod
    def resolve_rating_label(obj: Ticket) -> str:
        return str(services.RATINGS.get(obj.rating, ""))


class EventOut(Schema):
    action: str = Field(description="操作代码（register 登记，lifecycle 的各步，overdue/due_soon 为系统标记）")
    label: str
    from_status: str
    to_status: str
    actor: str = Field(description="操作人：姓名、单位名、“居民”或“系统”")
    at: datetime.datetime
    note: str
    public: bool = Field(description="居民在门户上能看到")

    @staticmethod
    def resolve_label(obj: TicketEvent) -> str:
        return lifecycle.event_label(obj.action)

    @staticmethod
    def resolve_actor(obj: TicketEvent) -> str:
        return obj.actor_label or (str(obj.actor) if obj.actor_id else "")


class WhistleOut(Schema):
    department: Ref
    called_at: datetime.datetime
    check_in_due_at: datetime.datetime
    checked_in_at: datetime.datetime | None
    reported_at: datetime.datetime | None
    report: str

    @staticmethod
    def resolve_department(obj: Whistle) -> dict:
        return {"id": obj.department_id, "name": obj.department.name}


class ActionOut(Schema):
    code: str
    label: str
    needs_note: bool


class TicketDetailOut(TicketOut):
    events: list[EventOut] = Field(description="流转记录，按时间先后")
    whistles: list[WhistleOut] = Field(description="吹哨的部门及其报到、反馈")
    available_actions: list[ActionOut] = Field(description="当前账号此刻可执行的步骤")

    @staticmethod
    def resolve_events(obj) -> list:
        return getattr(obj, "event_list", [])

    @staticmethod
    def resolve_whistles(obj) -> list:
        return getattr(obj, "whistle_list", [])

    @staticmethod
    def resolve_available_actions(obj) -> list:
        return getattr(obj, "action_list", [])


class TicketList(Schema):
    count: int
    items: list[TicketOut]


# Reads ------------------------------------------------------------------------------------------


class TicketFilter(PageIn):
    status: list[Status] | None = Field(None, description="状态，可重复给出多个（status=accepted&status=dispatched）")
    category: Id | None = Field(None, description="分类（含其下级分类）")
    channel: Channel | None = None
    area: Id | None = Field(None, description="区域（含其下级区域）")
    handler: Id | None = Field(None, description="办理人")
    department: Id | None = Field(None, description="承办单位")
    urgency: Urgency | None = None
    overdue: bool | None = Field(None, description="true：仍在办理且已过办结期限；false：其余")
    received_from: datetime.date | None = Field(None, description="接收日期起（含）")
    received_to: datetime.date | None = Field(None, description="接收日期止（含）")
    q: Text | None = Field(None, max_length=100, description="编号或诉求内容包含的文字")


def _filtered(user, f: TicketFilter):
    filters = selectors.TicketFilters(
        q=f.q or "",
        status=tuple(f.status or ()),
        category=f.category,
        channel=f.channel or "",
        urgency=f.urgency or "",
        due={True: "overdue", False: "not_overdue", None: ""}[f.overdue],
        area=f.area,
        received_from=f.received_from,
        received_to=f.received_to,
        department=f.department,
        handler=f.handler,
    )
    return selectors.filter_tickets(selectors.tickets_visible_to(user).select_related(*_RELATED), filters)


@router.get("/tickets", response={200: TicketList, **COMMON_ERRORS}, operation_id="tickets_list", summary="诉求列表")
def tickets_list(request, filters: Query[TicketFilter]):
    """管辖范围内的诉求，新接收的在前。反映人电话一律脱敏。"""
    qs = _filtered(request.auth, filters).order_by("-received_at", "-pk")
    return {"count": qs.count(), "items": list(qs[filters.offset : filters.offset + filters.limit])}


def _ticket(user, number: str) -> Ticket:
    found = selectors.tickets_visible_to(user).select_related(*_RELATED).filter(number=number).first()
    if found is None:
        raise NotFound()
    return found


def _detail(user, number: str) -> Ticket:
    ticket = _ticket(user, number)
    ticket.event_list = selectors.timeline(ticket, list(ticket.events.select_related("actor").order_by("at", "pk")))
    ticket.whistle_list = list(ticket.whistles.select_related("department").order_by("called_at", "pk"))
    ticket.action_list = [
        {"code": a.code, "label": str(a.label), "needs_note": a.needs_note}
        for a in lifecycle.available(ticket.status, user)
    ]
    return ticket


@router.get(
    "/tickets/{number}",
    response={200: TicketDetailOut, **DETAIL_ERRORS},
    operation_id="tickets_get",
    summary="诉求详情",
)
def tickets_get(request, number: str):
    """诉求及其流转记录（含内部备注，public 标明居民能否看到）、吹哨报到情况和当前可执行的步骤。
    不存在与不在管辖范围内一样答 404。"""
    return _detail(request.auth, number)


# Writes -----------------------------------------------------------------------------------------


class TicketCreateIn(Input):
    category: Id = Field(description="分类 id（见 /tickets/categories）")
    channel: Channel = Field(description="渠道")
    description: Text = Field(max_length=5000, description="诉求内容")
    urgency: Urgency = Field(Urgency.NORMAL, description="紧急程度")
    received_at: datetime.datetime | None = Field(
        None, description="实际接收时间（ISO 8601，不能晚于现在）；不传为现在。时限从此起算"
    )
    dwelling: Id | None = Field(None, description="房屋")
    building: Id | None = Field(None, description="楼栋")
    area: Id | None = Field(None, description="网格或其他区域；房屋、楼栋、区域都不传时为登记人自己的区域")
    latitude: Decimal | None = Field(None, ge=-90, le=90, max_digits=9, decimal_places=6, description="纬度")
    longitude: Decimal | None = Field(None, ge=-180, le=180, max_digits=9, decimal_places=6, description="经度")
    reporter_resident: Id | None = Field(None, description="反映人为在册居民时其 id")
    reporter_name: Text = Field("", max_length=50, description="反映人姓名")
    reporter_phone: Text = Field("", max_length=40, description="反映人电话")


@router.post(
    "/tickets",
    response={201: TicketOut, **WRITE_ERRORS},
    operation_id="tickets_create",
    summary="登记诉求",
)
def tickets_create(request, payload: TicketCreateIn):
    """至少给出分类、渠道和诉求内容；答复中即有编号、受理期限和办结期限。
    网格员、联户长、楼栋长和社区以上工作人员可以登记；职能部门不能（403）。"""
    user = request.auth
    resident = None
    if payload.reporter_resident is not None:
        try:
            resident = registry.access_resident(user, payload.reporter_resident)
        except NotFound:
            raise ApplicationError(_("居民不存在或不在管辖范围内。"), field="reporter_resident") from None
    ticket = services.ticket_create(
        actor=user,
        category=payload.category,
        channel=payload.channel,
        description=payload.description,
        urgency=payload.urgency,
        received_at=payload.received_at,
        dwelling=payload.dwelling,
        building=payload.building,
        area=payload.area,
        latitude=payload.latitude,
        longitude=payload.longitude,
        reporter_resident=resident,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        request=request,
    )
    # The service's own object answers: its category, place and reporter are loaded already, and a
    # read-back with every join would cost as much again as the intake (bench/tickets_intake.py).
    return HttpStatus(201, ticket)


class ActionIn(Input):
    note: Text = Field("", max_length=5000, description="说明（办结、退单、上报、吹哨、挂起、合并等须填）")
    department: Id | None = Field(None, description="派单：承办单位")
    handler: Id | None = Field(None, description="派单：办理人（网格员）")
    departments: list[Id] | None = Field(None, max_length=20, description="吹哨：被召集的部门")
    into: Text | None = Field(None, max_length=20, description="合并：并入的诉求编号")
    rating: str | None = Field(None, description="评价：satisfied、basically_satisfied、unsatisfied")
    comment: Text = Field("", max_length=500, description="评价意见")


@router.post(
    "/tickets/{number}/actions/{action}",
    response={200: TicketDetailOut, **WRITE_ERRORS},
    operation_id="tickets_act",
    summary="执行流转步骤",
)
def tickets_act(request, number: str, action: str, payload: ActionIn):
    """受理、派单、签收、办结、销号……每一步按统一的流转表检查：当前状态或角色不允许时答 409
    （code 为 transition_not_allowed、forbidden 或 note_required），诉求不作任何改变。"""
    user = request.auth
    params = {
        key: getattr(payload, key)
        for key in ("department", "handler", "departments", "into", "rating", "comment")
        if key in payload.model_fields_set
    }
    services.ticket_act(actor=user, number=number, action=action, note=payload.note, request=request, **params)
    return _detail(user, number)
