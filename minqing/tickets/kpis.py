"""Figures of the demands (诉求统计): 受理量, 及时受理率, 按期办结率, 办结率, 满意率, 平均办理时长, 超期件,
重复诉求率, 退单率 — per area, category, channel, handler, department or month, for the demands a
user may see that were received in a period. docs/kpis.md defines each one; this module is that
definition in code.

Two queries, one per table, whatever the number of demands: the demands grouped by their own column
(area, category, channel, handler, department, month) with every count a conditional aggregate, and
the dispatch/return events grouped the same way. Every figure is a ratio of counts (and the mean
duration a sum over a count), so finer groups fold exactly into coarser ones in Python: the database
groups by area_id and category_id, and the rows become "each community of this subdistrict" or "each
top-level category" afterwards, over at most a few thousand groups."""

import datetime
from dataclasses import dataclass, fields
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minqing.accounts.models import Department, User
from minqing.areas.models import Area
from minqing.core.errors import ApplicationError
from minqing.tickets.lifecycle import RUNNING_STATES, Status
from minqing.tickets.models import Category, Channel, TicketEvent
from minqing.tickets.selectors import tickets_visible_to

DIMENSIONS = {
    "area": gettext_lazy("区域"),
    "category": gettext_lazy("分类"),
    "channel": gettext_lazy("渠道"),
    "handler": gettext_lazy("办理人"),
    "department": gettext_lazy("承办单位"),
    "month": gettext_lazy("月份"),
}
# The column the database groups by for each dimension (on the demand; the events prefix "ticket__").
_GROUP_COLUMN = {
    "area": "area_id",
    "category": "category_id",
    "channel": "channel",
    "handler": "handler_id",
    "department": "department_id",
    "month": "month",
}
HANDLED_STATES = (Status.HANDLED, Status.CLOSED, Status.EVALUATED)
# Open and the clock running: a suspended demand's deadline is moved on resume, so it is not late
# while suspended.
GOOD_RATINGS = ("satisfied", "basically_satisfied")
_NONE = "none"  # the group of demands without a handler / department / sub-area


@dataclass
class KpiRow:
    key: str
    label: str
    # The counts; every figure is built from these (docs/kpis.md).
    received: int = 0  # 受理量
    merged: int = 0
    rejected: int = 0
    accepted: int = 0
    accepted_on_time: int = 0
    waiting_accept_late: int = 0  # not accepted yet, past the accept deadline
    handled: int = 0
    handled_on_time: int = 0
    handled_late: int = 0
    open_late: int = 0  # open, clock running, past the finish deadline
    handled_seconds: float = 0.0
    finished: int = 0  # handled, closed or evaluated now
    rated: int = 0
    rated_good: int = 0
    dispatched: int = 0
    returned: int = 0

    def add(self, other: "KpiRow") -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def valid(self) -> int:
        """有效件: received less duplicates merged away and demands not taken on."""
        return self.received - self.merged - self.rejected

    @property
    def timely_accept_rate(self) -> float | None:
        return _rate(self.accepted_on_time, self.accepted + self.waiting_accept_late)

    @property
    def on_time_finish_rate(self) -> float | None:
        return _rate(self.handled_on_time, self.handled + self.open_late)

    @property
    def finish_rate(self) -> float | None:
        return _rate(self.finished, self.valid)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.rated_good, self.rated)

    @property
    def mean_hours(self) -> float | None:
        return None if not self.handled else self.handled_seconds / self.handled / 3600

    @property
    def overdue(self) -> int:
        """超期件: open past the deadline, plus finished after it."""
        return self.open_late + self.handled_late

    @property
    def duplicate_rate(self) -> float | None:
        return _rate(self.merged, self.received)

    @property
    def return_rate(self) -> float | None:
        return _rate(self.returned, self.dispatched)


_COUNTS = tuple(f.name for f in fields(KpiRow) if f.name not in ("key", "label"))


def _rate(numerator: int, denominator: int) -> float | None:
    return None if not denominator else numerator / denominator


@dataclass
class KpiTable:
    dimension: str
    start: datetime.date
    end: datetime.date  # inclusive
    rows: list[KpiRow]
    total: KpiRow
    parent: Area | None = None  # the area whose children are the rows (dimension "area")


def period_bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, the day after end 00:00) in the local time zone: a period is whole local days."""
    if end < start:
        raise ApplicationError(_("结束日期不能早于开始日期。"), field="end")
    tz = timezone.get_current_timezone()
    lo = datetime.datetime.combine(start, datetime.time(), tz)
    hi = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tz)
    return lo, hi


def ticket_kpis(
    user,
    *,
    start: datetime.date,
    end: datetime.date,
    dimension: str = "area",
    parent: Area | None = None,
    now: datetime.datetime | None = None,
) -> KpiTable:
    """The figures of the demands `user` may see that were received from `start` to `end` (local
    dates, both included), one row per group of `dimension`. For "area" the rows are the children of
    `parent` (default: the user's own area) plus a row for demands placed on `parent` itself."""
    if dimension not in DIMENSIONS:
        raise ApplicationError(_("统计维度无效。"), field="dimension")
    now = now or timezone.now()
    lo, hi = period_bounds(start, end)
    tickets = tickets_visible_to(user).filter(received_at__gte=lo, received_at__lt=hi)
    if dimension == "area":
        parent = parent or getattr(user, "area", None)
        if parent is None:
            raise ApplicationError(_("请选择区域。"), field="area")
        tickets = tickets.filter(area_path__startswith=parent.path)
    by_group = _ticket_counts(tickets, dimension, now)
    for key, dispatched, returned in _event_counts(tickets, dimension):
        row = by_group.setdefault(key, KpiRow(key=key, label=""))
        row.dispatched, row.returned = dispatched, returned
    rows = _fold(by_group, dimension, parent)
    total = KpiRow(key="total", label=_("合计"))
    for row in rows:
        total.add(row)
    return KpiTable(dimension=dimension, start=start, end=end, rows=rows, total=total, parent=parent)


def _group_key(value) -> str:
    if value is None:
        return _NONE
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m")
    return str(value)


def _ticket_counts(tickets, dimension: str, now) -> dict[str, KpiRow]:
    column = _GROUP_COLUMN[dimension]
    if dimension == "month":
        tickets = tickets.annotate(month=TruncMonth("received_at"))
    accepted = Q(accepted_at__isnull=False)
    handled = Q(handled_at__isnull=False)
    duration = ExpressionWrapper(F("handled_at") - F("received_at"), output_field=DurationField())
    rows = (
        tickets.order_by()
        .values(column)
        .annotate(
            received=Count("pk"),
            merged=Count("pk", filter=Q(status=Status.MERGED)),
            rejected=Count("pk", filter=Q(status=Status.REJECTED)),
            accepted=Count("pk", filter=accepted),
            accepted_on_time=Count("pk", filter=accepted & Q(accepted_at__lte=F("accept_due_at"))),
            waiting_accept_late=Count(
                "pk",
                filter=Q(accepted_at__isnull=True, status__in=RUNNING_STATES, accept_due_at__lt=now),
            ),
            handled=Count("pk", filter=handled),
            handled_on_time=Count("pk", filter=handled & Q(handled_at__lte=F("finish_due_at"))),
            handled_late=Count("pk", filter=handled & Q(handled_at__gt=F("finish_due_at"))),
            open_late=Count("pk", filter=Q(handled_at__isnull=True, status__in=RUNNING_STATES, finish_due_at__lt=now)),
            handled_time=Sum(duration, filter=handled),
            finished=Count("pk", filter=Q(status__in=HANDLED_STATES)),
            rated=Count("pk", filter=~Q(rating="")),
            rated_good=Count("pk", filter=Q(rating__in=GOOD_RATINGS)),
        )
    )
    out = {}
    for values in rows:
        key = _group_key(values.pop(column))
        spent = values.pop("handled_time")
        row = KpiRow(key=key, label="", **values)
        row.handled_seconds = _seconds(spent)
        out[key] = row
    return out


def _seconds(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(Decimal(value)) / 1_000_000  # a backend that answers microseconds


def _event_counts(tickets, dimension: str):
    """(group, demands dispatched, demands returned): demands with at least one event of each kind.
    Semi-joins on the events (one row per demand, no DISTINCT to sort), grouped like the demands."""
    column = _GROUP_COLUMN[dimension]
    if dimension == "month":
        tickets = tickets.annotate(month=TruncMonth("received_at"))
    dispatched = TicketEvent.objects.filter(action="dispatch").values("ticket_id")
    returned = TicketEvent.objects.filter(action="return").values("ticket_id")
    rows = (
        tickets.filter(pk__in=dispatched)
        .order_by()
        .values(column)
        .annotate(dispatched=Count("pk"), returned=Count("pk", filter=Q(pk__in=returned)))
    )
    for values in rows:
        yield _group_key(values[column]), values["dispatched"], values["returned"]


def _fold(by_group: dict[str, KpiRow], dimension: str, parent: Area | None) -> list[KpiRow]:
    """The database's groups as the rows shown: labelled, and folded where the shown group is coarser
    (sub-areas into the parent's children, sub-categories into their top category)."""
    if dimension == "area":
        return _fold_areas(by_group, parent)
    if dimension == "category":
        return _fold_categories(by_group)
    labels: dict[str, str] = {}
    if dimension == "channel":
        labels = {str(k): str(v) for k, v in Channel.choices}
    elif dimension == "handler":
        ids = [int(k) for k in by_group if k != _NONE]
        labels = {str(u.pk): u.display_name or u.username for u in User.objects.filter(pk__in=ids)}
        labels[_NONE] = _("未指派办理人")
    elif dimension == "department":
        ids = [int(k) for k in by_group if k != _NONE]
        labels = {str(pk): name for pk, name in Department.objects.filter(pk__in=ids).values_list("pk", "name")}
        labels[_NONE] = _("未派单位（社区自办）")
    for key, row in by_group.items():
        row.label = labels.get(key, key)
    rows = list(by_group.values())
    if dimension == "month":
        return sorted(rows, key=lambda r: r.key)
    return sorted(rows, key=lambda r: (r.key == _NONE, -r.received, r.label))


def _fold_areas(by_group: dict[str, KpiRow], parent: Area) -> list[KpiRow]:
    children = list(Area.objects.filter(parent=parent).order_by("path", "pk").values_list("pk", "name", "path"))
    paths = dict(Area.objects.filter(pk__in=[int(k) for k in by_group]).values_list("pk", "path"))
    rows = {path: KpiRow(key=str(pk), label=name) for pk, name, path in children}
    own = KpiRow(key=str(parent.pk), label=_("%(name)s（本级）") % {"name": parent.name})
    depth = parent.path.count("/")  # "/1/4/" → the child's path has one segment more
    for key, counts in by_group.items():
        path = paths.get(int(key), "")
        child_path = "/".join(path.split("/")[: depth + 1]) + "/" if path.count("/") > depth else ""
        rows.get(child_path, own).add(counts)
    shown = [rows[path] for _pk, _name, path in children]
    # Demands placed on the parent itself only get a row when there are some.
    return shown + ([own] if own.received else [])


def _fold_categories(by_group: dict[str, KpiRow]) -> list[KpiRow]:
    categories = {c.pk: c for c in Category.objects.all()}

    def top(pk: int) -> Category:
        node = categories[pk]
        while node.parent_id is not None:
            node = categories[node.parent_id]
        return node

    rows: dict[int, KpiRow] = {}
    for key, counts in by_group.items():
        root = top(int(key))
        row = rows.setdefault(root.pk, KpiRow(key=str(root.pk), label=root.name))
        row.add(counts)
    order = {pk: (c.order, pk) for pk, c in categories.items()}
    return sorted(rows.values(), key=lambda r: order[int(r.key)])


# The table's columns, shared by the page and the .xlsx: (heading, value of a row, kind). Kinds:
# "count", "rate" (0–1, shown as a percentage), "hours".
COLUMNS = [
    (gettext_lazy("受理量"), lambda r: r.received, "count"),
    (gettext_lazy("有效件"), lambda r: r.valid, "count"),
    (gettext_lazy("及时受理率"), lambda r: r.timely_accept_rate, "rate"),
    (gettext_lazy("按期办结率"), lambda r: r.on_time_finish_rate, "rate"),
    (gettext_lazy("办结率"), lambda r: r.finish_rate, "rate"),
    (gettext_lazy("满意率"), lambda r: r.satisfaction_rate, "rate"),
    (gettext_lazy("平均办理时长（小时）"), lambda r: r.mean_hours, "hours"),
    (gettext_lazy("超期件"), lambda r: r.overdue, "count"),
    (gettext_lazy("其中未办结"), lambda r: r.open_late, "count"),
    (gettext_lazy("重复诉求率"), lambda r: r.duplicate_rate, "rate"),
    (gettext_lazy("退单率"), lambda r: r.return_rate, "rate"),
]
