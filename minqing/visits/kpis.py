"""Figures of the visits (走访统计): visits per worker or grid, coverage, on-time care visits and
脱管漏管 — docs/kpis.md "走访 (visits)" defines each one; this module is that definition in code.

Two queries whatever the number of visits: the visits of the scope and period grouped by worker or
grid, and the households of the scope grouped by grid (or not grouped, for the worker table's 合计).
Every count is a conditional aggregate (FILTER on PostgreSQL, CASE on SQLite); the care interval is
due_for's CASE over the rules in force (selectors.interval_case), restricted to the rules with a tag."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minqing.accounts.models import User
from minqing.areas.models import Area
from minqing.core.errors import ApplicationError
from minqing.registry.models import Household, Resident, ResidentStatus
from minqing.registry.selectors import households_visible_to
from minqing.tickets.kpis import period_bounds
from minqing.visits.models import Visit
from minqing.visits.selectors import (
    DaysBetween,
    _communities_in_scope,
    interval_case,
    rules_in_force,
    visits_visible_to,
)

DIMENSIONS = {"worker": gettext_lazy("走访人"), "grid": gettext_lazy("网格")}
_VISIT_GROUP = {"worker": "worker_id", "grid": "household__dwelling__building__grid_id"}


@dataclass
class VisitKpiRow:
    key: str
    label: str
    visits: int = 0  # 走访次数
    households_visited: int = 0  # 走访户数 (distinct)
    # Household figures: per grid and in the 合计 row; None in a worker's row (a household has a
    # grid, not one worker — anyone in scope may visit it).
    households: int | None = None  # 应访户数, the coverage denominator
    lost: int | None = None  # 脱管漏管 (households)
    care_visits: int = 0  # visits to a household under a care-tag rule
    care_on_time: int = 0  # of those, made within the interval since the previous visit

    @property
    def coverage(self) -> float | None:
        return _rate(self.households_visited, self.households)

    @property
    def care_on_time_rate(self) -> float | None:
        return _rate(self.care_on_time, self.care_visits)


@dataclass
class VisitKpiTable:
    dimension: str
    start: datetime.date
    end: datetime.date
    rows: list[VisitKpiRow]
    total: VisitKpiRow


def _rate(numerator: int, denominator: int | None) -> float | None:
    """A share in %, or None ("—") when there is nothing to divide by."""
    if not denominator:
        return None
    return round(100 * numerator / denominator, 1)


def _care_interval(user, end: datetime.date):
    """The strictest interval of a care-tag rule for a household (None: only every-household)."""
    rules = rules_in_force(_communities_in_scope(user))
    care = {c: [r for r in rs if r.tag_id is not None] for c, rs in rules.items()}
    return interval_case(care, end)


def visit_kpis(user, *, start: datetime.date, end: datetime.date, dimension: str = "grid") -> VisitKpiTable:
    """The visit figures for what `user` may see, for visits made from `start` to `end` (local
    dates, both included), one row per worker or grid; 脱管漏管 is taken at the end of `end`."""
    if dimension not in DIMENSIONS:
        raise ApplicationError(_("统计维度无效。"), field="dimension")
    lo, hi = period_bounds(start, end)
    care_interval = _care_interval(user, end)

    # Visits: the care interval of the visited household and the days since its previous visit (or
    # since it was registered, as due_for counts a new arrival).
    household_interval = Household.objects.filter(pk=OuterRef("household_id")).annotate(i=care_interval).values("i")
    previous = (
        Visit.objects.filter(household_id=OuterRef("household_id"), visited_at__lt=OuterRef("visited_at"))
        .order_by("-visited_at")
        .values("visited_at")[:1]
    )
    visits = (
        visits_visible_to(user)
        .filter(visited_at__gte=lo, visited_at__lt=hi)
        .alias(interval=Subquery(household_interval[:1]))
        .alias(since=Coalesce(TruncDate(Subquery(previous)), TruncDate("household__created_at")))
        .alias(gap=DaysBetween(TruncDate("visited_at"), F("since")))
    )
    care = Q(interval__isnull=False)
    group = _VISIT_GROUP[dimension]
    rows: dict = {}
    for r in (
        visits.order_by()
        .values(group)
        .annotate(
            n=Count("pk"),
            hh=Count("household_id", distinct=True),
            care=Count("pk", filter=care),
            on_time=Count("pk", filter=care & Q(gap__lte=F("interval"))),
        )
    ):
        rows[r[group]] = VisitKpiRow(
            key=str(r[group]),
            label="",
            visits=r["n"],
            households_visited=r["hh"],
            care_visits=r["care"],
            care_on_time=r["on_time"],
        )

    # Households: registered by the end of the period and not dissolved before its start.
    active_member = Resident.objects.filter(household_id=OuterRef("pk"), status=ResidentStatus.ACTIVE)
    visited_in_period = Visit.objects.filter(household_id=OuterRef("pk"), visited_at__gte=lo, visited_at__lt=hi)
    last_by_end = (
        Visit.objects.filter(household_id=OuterRef("pk"), visited_at__lt=hi)
        .order_by("-visited_at")
        .values("visited_at")[:1]
    )
    households = (
        households_visible_to(user)
        .filter(created_at__lt=hi)
        .filter(Q(dissolved_at__isnull=True) | Q(dissolved_at__gte=lo))
        .alias(interval=care_interval)
        .alias(since=Coalesce(TruncDate(Subquery(last_by_end)), TruncDate("created_at")))
        .alias(elapsed=DaysBetween(_date(end), F("since")))
    )
    figures = {
        "households": Count("pk"),
        "visited": Count("pk", filter=Q(Exists(visited_in_period))),
        "lost": Count("pk", filter=Q(Exists(active_member), interval__isnull=False, elapsed__gt=F("interval"))),
    }
    total = VisitKpiRow(key="total", label=_("合计"), households=0, lost=0)
    # Grouped by grid in both dimensions: a household has one grid, so the grids add up to the 合计
    # exactly (a household two workers visited is one household there).
    for r in households.order_by().values("dwelling__building__grid_id").annotate(**figures):
        total.households += r["households"]
        total.households_visited += r["visited"]
        total.lost += r["lost"]
        if dimension == "grid":
            key = r["dwelling__building__grid_id"]
            row = rows.setdefault(key, VisitKpiRow(key=str(key), label=""))
            row.households, row.households_visited, row.lost = r["households"], r["visited"], r["lost"]
    if dimension == "grid":
        names = dict(Area.objects.filter(pk__in=list(rows)).values_list("pk", "name"))
    else:
        names = {u.pk: u.display_name or u.username for u in User.objects.filter(pk__in=list(rows))}
    for key, row in rows.items():
        row.label = names.get(key, "")
        total.visits += row.visits
        total.care_visits += row.care_visits
        total.care_on_time += row.care_on_time
    return VisitKpiTable(
        dimension=dimension, start=start, end=end, rows=sorted(rows.values(), key=lambda r: r.label), total=total
    )


# The table's columns as the page and the .xlsx show them (core/figures.py): (heading, value of a row,
# kind); VisitKpiRow's rates are percentages already, None where there is no denominator.
COLUMNS = [
    (gettext_lazy("走访次数"), lambda r: r.visits, "count"),
    (gettext_lazy("走访户数"), lambda r: r.households_visited, "count"),
    (gettext_lazy("应访户数"), lambda r: r.households, "count"),
    (gettext_lazy("覆盖率"), lambda r: r.coverage, "percent"),
    (gettext_lazy("关爱走访"), lambda r: r.care_visits, "count"),
    (gettext_lazy("关爱走访按时率"), lambda r: r.care_on_time_rate, "percent"),
    (gettext_lazy("脱管漏管（户）"), lambda r: r.lost, "count"),
]


def _date(day: datetime.date):
    from django.db.models import DateField, Value

    return Value(day, output_field=DateField())
