"""民情日记 under /api/v1/visits: log a visit (idempotent per worker through the `Idempotency-Key` header,
for a phone that resends a draft after a dropped connection) and the due list of the care plans.
Writes through visits.services.visit_log, reads through visits.selectors (due_for, attach_reasons) —
the same as the pages, so the scope is the pages' scope (a liaison only their households)."""

import datetime
from decimal import Decimal

from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from minqing.api.schemas import COMMON_ERRORS, ErrorOut, Id, Input, PageIn, Ref, Text
from minqing.api.security import BearerToken
from minqing.registry.models import Tag
from minqing.visits import selectors, services
from minqing.visits.models import Purpose, Responsible, Visit

router = Router(tags=["走访"], auth=BearerToken())

WRITE_ERRORS = {400: ErrorOut, 404: ErrorOut, **COMMON_ERRORS}


# Log a visit ------------------------------------------------------------------------------------


class VisitIn(Input):
    household: Id = Field(description="走访的住户 id")
    purpose: Purpose = Field(Purpose.ROUTINE, description="走访事由")
    note: Text = Field("", max_length=services.NOTE_MAX, description="走访情况")
    resident: Id | None = Field(None, description="走访对象（本户在册成员）")
    met: list[Id] = Field([], max_length=50, description="见到的人（本户在册成员）")
    visited_at: datetime.datetime | None = Field(
        None, description="走访时间（ISO 8601，不晚于现在、不早于 30 天前）；不传为现在"
    )
    # Only loose bounds here (an exponent like 1E+1000 cannot even be rounded): the service checks the
    # plausible ranges and answers 400 naming the field, the same message the visit form shows.
    temperature: Decimal | None = Field(None, ge=-1000, le=1000, description="体温（℃），30–45")
    systolic: int | None = Field(None, description="收缩压（mmHg），60–260，须与舒张压同时填写")
    diastolic: int | None = Field(None, description="舒张压（mmHg），30–160")


class VisitOut(Schema):
    id: int
    household_id: int
    resident_id: int | None = Field(description="走访对象")
    purpose: Purpose
    purpose_label: str
    visited_at: datetime.datetime
    worker: Ref = Field(description="走访人")
    note: str
    temperature: Decimal | None
    systolic: int | None
    diastolic: int | None
    flags: list[str] = Field(description="读数提示：fever、low_temperature、high_bp、low_bp")
    ticket: str | None = Field(description="转成的诉求编号")

    @staticmethod
    def resolve_purpose_label(obj: Visit) -> str:
        return str(obj.get_purpose_display())

    @staticmethod
    def resolve_worker(obj: Visit) -> dict:
        return {"id": obj.worker_id, "name": str(obj.worker)}

    @staticmethod
    def resolve_ticket(obj: Visit) -> str | None:
        return obj.ticket.number if obj.ticket_id else None


@router.post(
    "/visits",
    response={200: VisitOut, 201: VisitOut, **WRITE_ERRORS},
    operation_id="visits_create",
    summary="登记走访",
)
def visits_create(
    request,
    payload: VisitIn,
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", description="草稿的幂等键（8–64 位字母、数字、- 或 _）"
    ),
):
    """走访人为当前账号。带 `Idempotency-Key` 时，同一账号以同一键重发（断网后重传）答 200 和第一次的记录，
    不再写入；首次答 201。住户不存在与不在管辖范围内一样答 404；读数超出合理范围答 400 并指明字段。"""
    visit = services.visit_log(
        actor=request.auth,
        household=payload.household,
        purpose=payload.purpose,
        note=payload.note,
        resident=payload.resident,
        met=payload.met,
        visited_at=payload.visited_at,
        temperature=payload.temperature,
        systolic=payload.systolic,
        diastolic=payload.diastolic,
        idempotency_key=idempotency_key,
        request=request,
    )
    return HttpStatus(200 if visit.replayed else 201, visit)


# The due list -----------------------------------------------------------------------------------


class DueFilter(PageIn):
    grid: Id | None = Field(None, description="只看某个网格（管辖范围内）")


class RuleOut(Schema):
    tag: str | None = Field(description="定下周期的标签；全部住户的规则为 null")
    interval_days: int
    responsible: Responsible | None = Field(description="负责人：liaison 联户长，grid_worker 网格员")


class DueOut(Schema):
    household_id: int
    household: str = Field(description="住户（门牌）")
    grid: Ref
    resident_id: int | None = Field(description="其标签定下周期的成员；全部住户的规则为 null")
    resident_ids: list[int] = Field(description="带有该标签的全部在册成员")
    rule: RuleOut
    last_visit_at: datetime.datetime | None = Field(description="上次走访；从未走访为 null（从登记之日起算）")
    due_on: datetime.date = Field(description="应走访日期")
    days_overdue: int = Field(description="超期天数；0 为今天到期")


class DueList(Schema):
    count: int
    items: list[DueOut]


def _due_item(household, sensitive: set[int]) -> dict:
    rule, holders = household.rule, household.reason_residents
    tag = None
    if rule is not None and rule.tag_id is not None and (holders or rule.tag_id not in sensitive):
        # A sensitive tag the caller may not see still sets the rule, but is not named (as on the page).
        tag = rule.tag_name
    grid = household.dwelling.building.grid
    return {
        "household_id": household.pk,
        "household": str(household),
        "grid": {"id": grid.pk, "name": grid.name},
        "resident_id": holders[0].pk if holders else None,
        "resident_ids": [r.pk for r in holders],
        "rule": {
            "tag": tag,
            "interval_days": household.interval_days,
            "responsible": rule.responsible if rule is not None and rule.responsible else None,
        },
        "last_visit_at": household.last_visit_at,
        "due_on": household.due_on,
        "days_overdue": household.days_overdue,
    }


@router.get(
    "/visits/due",
    response={200: DueList, **COMMON_ERRORS},
    operation_id="visits_due",
    summary="应走访名单",
)
def visits_due(request, filters: Query[DueFilter]):
    """今天应走访和已超期的住户，风险高的在前（超期天数 ÷ 周期）；一户有多个标签时按最严的规则。
    范围与网页一致：联户长只有其联系的住户，网格员其网格，社区以上工作人员可用 grid 按网格查看。"""
    user = request.auth
    qs = selectors.due_for(user, grid=filters.grid)
    page = list(qs[filters.offset : filters.offset + filters.limit])
    selectors.attach_reasons(user, page)
    sensitive = set(Tag.objects.filter(sensitive=True).values_list("pk", flat=True)) if page else set()
    return {"count": qs.count(), "items": [_due_item(h, sensitive) for h in page]}
