"""Figures of the demands (诉求统计): 受理量, 及时受理率, 按期办结率, 办结率, 满意率, 平均办理时长, 超期件,
重复诉求率, 退单率 — per area, category, channel, handler, department or month, for the demands a
user may see that were received in a period. docs/kpis.md defines each one; this module is that
definition in code.

Whole past months come from the figures' cube (TicketFigures: counts per month, area and group, computed
by services.ticket_figures_refresh), the rest live: the days of the period outside those months, the
"now"-dependent counts (open and late) of every month, and what the cube cannot cut (the handler
dimension; a grid worker's, a unit's or a liaison's scope). The live part is one query per span of
days: the demands grouped by their own column with every count a conditional aggregate, read from a
covering index (the step that dispatches or returns a demand flags it, so no event is read). Every
figure is a ratio of counts (and the mean duration a sum over a count), so the parts add up and finer
groups fold exactly into coarser ones in Python: the rows become "each community of this subdistrict"
or "each top-level category" afterwards, over at most a few thousand groups."""

import datetime
import functools
import operator
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minqing.accounts.models import Department, User
from minqing.accounts.scope import ticket_figures_path
from minqing.areas.models import Area, AreaLevel
from minqing.core.errors import ApplicationError
from minqing.tickets.lifecycle import RUNNING_STATES, Status
from minqing.tickets.models import Category, Channel, Ticket, TicketFigures, TicketFiguresMonth
from minqing.tickets.selectors import tickets_visible_to

DIMENSIONS = {
    "area": gettext_lazy("区域"),
    "category": gettext_lazy("分类"),
    "channel": gettext_lazy("渠道"),
    "handler": gettext_lazy("办理人"),
    "department": gettext_lazy("承办单位"),
    "month": gettext_lazy("月份"),
}
# The column the database groups by for each dimension.
_GROUP_COLUMN = {
    "area": "area_id",
    "category": "category_id",
    "channel": "channel",
    "handler": "handler_id",
    "department": "department_id",
    "month": "month",
}
HANDLED_STATES = (Status.HANDLED, Status.CLOSED, Status.EVALUATED)
GOOD_RATINGS = ("satisfied", "basically_satisfied")
_NONE = "none"  # the group of demands without a handler / department / sub-area
_INSTANT = datetime.timedelta(microseconds=1)


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
    # The whole months taken from the cube, and the time of the oldest refresh among them: their counts
    # are as of then; everything else (and their open-and-late counts) is as of now.
    cube_months: list[datetime.date] = field(default_factory=list)
    as_of: datetime.datetime | None = None


def period_bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, the day after end 00:00) in the local time zone: a period is whole local days."""
    if end < start:
        raise ApplicationError(_("结束日期不能早于开始日期。"), field="end")
    tz = timezone.get_current_timezone()
    lo = datetime.datetime.combine(start, datetime.time(), tz)
    hi = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tz)
    return lo, hi


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[the month's first day 00:00, the next month's 00:00) in the local time zone."""
    return period_bounds(month, next_month(month) - datetime.timedelta(days=1))


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def ticket_kpis(
    user,
    *,
    start: datetime.date,
    end: datetime.date,
    dimension: str = "area",
    parent: Area | None = None,
    now: datetime.datetime | None = None,
    live: bool = False,
) -> KpiTable:
    """The figures of the demands `user` may see that were received from `start` to `end` (local
    dates, both included), one row per group of `dimension`. For "area" the rows are the children of
    `parent` (default: the user's own area) plus a row for demands placed on `parent` itself.
    `live` ignores the cube (every count as of now; seconds at district scale)."""
    if dimension not in DIMENSIONS:
        raise ApplicationError(_("统计维度无效。"), field="dimension")
    now = now or timezone.now()
    lo, hi = period_bounds(start, end)
    visible = tickets_visible_to(user)
    if dimension == "area":
        parent = parent or getattr(user, "area", None)
        if parent is None:
            raise ApplicationError(_("请选择区域。"), field="area")
        visible = visible.filter(area_path__startswith=parent.path)
    scope_path = None if live or dimension == "handler" else ticket_figures_path(user)
    held = _held_months(start, end) if scope_path else {}
    by_group: dict[str, KpiRow] = {}
    if held:
        paths = [scope_path] + ([parent.path] if dimension == "area" else [])
        _merge(by_group, _cube_counts(dimension, list(held), paths))
        in_held = _between(month_bounds(m) for m in held)
        _merge(by_group, _late_counts(visible.filter(in_held), dimension, now))
    # One query per span: a single range is an index-only scan (ticket_received_figures), an OR of
    # ranges is not.
    for span in _spans_outside(lo, hi, [month_bounds(m) for m in sorted(held)]):
        tickets = visible.filter(_between([span]))
        first, last = (timezone.localtime(at).strftime("%Y-%m") for at in (span[0], span[1] - _INSTANT))
        if dimension == "month" and first == last:
            # A partial month (the usual span): its one row without converting each demand's time.
            _merge(by_group, _one_group_counts(tickets, first, now))
        else:
            _merge(by_group, _ticket_counts(tickets, dimension, now))
    rows = _fold(by_group, dimension, parent)
    total = KpiRow(key="total", label=_("合计"))
    for row in rows:
        total.add(row)
    return KpiTable(
        dimension=dimension,
        start=start,
        end=end,
        rows=rows,
        total=total,
        parent=parent,
        cube_months=sorted(held),
        as_of=min(held.values()) if held else None,
    )


def _held_months(start: datetime.date, end: datetime.date) -> dict[datetime.date, datetime.datetime]:
    """{month: refreshed at} of the whole months of the period the cube holds."""
    first = start if start.day == 1 else next_month(start)
    months = TicketFiguresMonth.objects.filter(month__gte=first, month__lte=end).values_list("month", "refreshed_at")
    return {m: at for m, at in months if next_month(m) - datetime.timedelta(days=1) <= end}


def _spans_outside(lo, hi, held: list[tuple]) -> list[tuple]:
    """[lo, hi) less the (sorted, disjoint) spans of `held`: the times counted live."""
    spans, at = [], lo
    for a, b in held:
        if a > at:
            spans.append((at, a))
        at = max(at, b)
    if at < hi:
        spans.append((at, hi))
    return spans


def _between(spans) -> Q:
    """Received within any of the spans; adjacent spans (consecutive months) as one range."""
    joined: list[list] = []
    for a, b in sorted(spans):
        if joined and joined[-1][1] >= a:
            joined[-1][1] = max(joined[-1][1], b)
        else:
            joined.append([a, b])
    return functools.reduce(operator.or_, (Q(received_at__gte=a, received_at__lt=b) for a, b in joined))


def _merge(into: dict[str, KpiRow], rows: dict[str, KpiRow]) -> None:
    for key, row in rows.items():
        into.setdefault(key, KpiRow(key=key, label="")).add(row)


def _group_key(value) -> str:
    if value is None:
        return _NONE
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m")
    return str(value)


def _waiting_accept_late(now) -> Q:
    return Q(accepted_at__isnull=True, status__in=RUNNING_STATES, accept_due_at__lt=now)


def _open_late(now) -> Q:
    return Q(handled_at__isnull=True, status__in=RUNNING_STATES, finish_due_at__lt=now)


def _aggregates(now) -> dict:
    """Every count of a group as a conditional aggregate; without `now`, only those that do not
    depend on it (what the cube stores)."""
    accepted = Q(accepted_at__isnull=False)
    handled = Q(handled_at__isnull=False)
    duration = ExpressionWrapper(F("handled_at") - F("received_at"), output_field=DurationField())
    counts = {
        "received": Count("pk"),
        "merged": Count("pk", filter=Q(status=Status.MERGED)),
        "rejected": Count("pk", filter=Q(status=Status.REJECTED)),
        "accepted": Count("pk", filter=accepted),
        "accepted_on_time": Count("pk", filter=accepted & Q(accepted_at__lte=F("accept_due_at"))),
        "handled": Count("pk", filter=handled),
        "handled_on_time": Count("pk", filter=handled & Q(handled_at__lte=F("finish_due_at"))),
        "handled_late": Count("pk", filter=handled & Q(handled_at__gt=F("finish_due_at"))),
        "handled_time": Sum(duration, filter=handled),
        "finished": Count("pk", filter=Q(status__in=HANDLED_STATES)),
        "rated": Count("pk", filter=~Q(rating="")),
        "rated_good": Count("pk", filter=Q(rating__in=GOOD_RATINGS)),
        # Returned among the dispatched: a return follows a dispatch (退单率's denominator).
        "dispatched": Count("pk", filter=Q(ever_dispatched=True)),
        "returned": Count("pk", filter=Q(ever_dispatched=True, ever_returned=True)),
    }
    if now is not None:
        counts["waiting_accept_late"] = Count("pk", filter=_waiting_accept_late(now))
        counts["open_late"] = Count("pk", filter=_open_late(now))
    return counts


def _grouped(tickets, dimension: str):
    if dimension == "month":
        tickets = tickets.annotate(month=TruncMonth("received_at"))
    return tickets.order_by()


def _row_of(values: dict, key: str) -> KpiRow:
    spent = values.pop("handled_time")
    row = KpiRow(key=key, label="", **values)
    row.handled_seconds = _seconds(spent)
    return row


def ticket_counts(tickets, columns: tuple[str, ...], now) -> list[tuple[tuple, KpiRow]]:
    """(the values of `columns`, the counts) per group of `tickets`; `now` None leaves out the counts
    that depend on it (the cube's refresh)."""
    out = []
    for values in tickets.values(*columns).annotate(**_aggregates(now)):
        keys = tuple(values.pop(c) for c in columns)
        out.append((keys, _row_of(values, "")))
    return out


def _ticket_counts(tickets, dimension: str, now) -> dict[str, KpiRow]:
    column = _GROUP_COLUMN[dimension]
    out: dict[str, KpiRow] = {}
    for (value,), row in ticket_counts(_grouped(tickets, dimension), (column,), now):
        row.key = _group_key(value)
        _merge(out, {row.key: row})
    return out


def _one_group_counts(tickets, key: str, now) -> dict[str, KpiRow]:
    values = tickets.order_by().aggregate(**_aggregates(now))
    return {key: _row_of(values, key)} if values["received"] else {}


def _late_counts(tickets, dimension: str, now) -> dict[str, KpiRow]:
    """The counts that depend on "now", over the open running demands only (ticket_running_figures)."""
    column = _GROUP_COLUMN[dimension]
    late = _grouped(tickets, dimension).filter(_waiting_accept_late(now) | _open_late(now))
    rows = late.values(column).annotate(
        waiting_accept_late=Count("pk", filter=_waiting_accept_late(now)),
        open_late=Count("pk", filter=_open_late(now)),
    )
    out: dict[str, KpiRow] = {}
    for values in rows:
        key = _group_key(values.pop(column))
        _merge(out, {key: KpiRow(key=key, label="", **values)})
    return out


def _seconds(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(Decimal(value)) / 1_000_000  # a backend that answers microseconds


# The cube ---------------------------------------------------------------------------------------

# The dimensions the cube is cut by; "month" is read from the "area" rows, "handler" is always live.
CUBE_DIMENSIONS = ("area", "category", "channel", "department")
CUBE_COUNTS = tuple(name for name in _COUNTS if name not in ("waiting_accept_late", "open_late"))


def _cube_counts(dimension: str, months: list[datetime.date], paths: list[str]) -> dict[str, KpiRow]:
    stored = "area" if dimension in ("area", "month") else dimension
    column = {"area": "area_id", "month": "month"}.get(dimension, "key")
    rows = TicketFigures.objects.filter(dimension=stored, month__in=months)
    for path in paths:
        rows = rows.filter(area_path__startswith=path)
    out: dict[str, KpiRow] = {}
    for values in rows.order_by().values(column).annotate(**{name: Sum(name) for name in CUBE_COUNTS}):
        key = _group_key(values.pop(column))
        _merge(out, {key: KpiRow(key=key, label="", **values)})
    return out


def month_figures(month: datetime.date) -> list[TicketFigures]:
    """The cube's rows of one month, computed from the demands as they are now (unsaved; the refresh
    service writes them). Grouped by area and group in the database, folded to communities here."""
    lo, hi = month_bounds(month)
    tickets = Ticket.objects.filter(received_at__gte=lo, received_at__lt=hi).order_by()
    areas = {pk: (path, level) for pk, path, level in Area.objects.values_list("pk", "path", "level")}

    def community_of(pk: int) -> int:
        for part in areas[pk][0].strip("/").split("/"):
            if areas.get(int(part), ("", ""))[1] == AreaLevel.COMMUNITY:
                return int(part)
        return pk  # placed above a community: its own area

    cells: dict[tuple, TicketFigures] = {}

    def cell(dimension: str, area_id: int, key) -> TicketFigures:
        area_id = area_id if dimension == "area" else community_of(area_id)
        key = "" if dimension == "area" else _group_key(key)
        found = cells.get((dimension, area_id, key))
        if found is None:
            found = cells[(dimension, area_id, key)] = TicketFigures(
                month=month, dimension=dimension, area_id=area_id, area_path=areas[area_id][0], key=key
            )
        return found

    for dimension in CUBE_DIMENSIONS:
        columns = ("area_id",) if dimension == "area" else ("area_id", _GROUP_COLUMN[dimension])
        for (area_id, *key), counts in ticket_counts(tickets, columns, None):
            target = cell(dimension, area_id, key[0] if key else None)
            for name in CUBE_COUNTS:
                setattr(target, name, getattr(target, name) + getattr(counts, name))
    return list(cells.values())


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
