"""Where a demand goes (承办单位) and how long it may take, and the rules for correcting a misrouted
demand (改分类 / 改派). The services call these; nothing here writes.

Route resolution (`route_for`): for the demand's category, then each of its ancestors in turn, the
route of the nearest area above the demand's place (a CategoryRoute on the grid beats one on the
community, which beats one on the subdistrict...) and then that category's default unit. The first
unit found wins, so a leaf category's own default beats a route its parent has in the same area: the
more precise kind of demand knows better who does the work. Retired units are skipped.

The deadline rule when a demand is corrected (docs/tickets-lifecycle.md, "Correcting the route"):
the 12345 practice is that a misrouting is not the new handler's fault, so a reroute restarts the
finish clock for the new unit from the moment of the reroute (RESTART_ON_REROUTE); a re-categorisation
counts the new category's limits from the original receipt (RESTART_ON_RECATEGORISE is False): the
kind of demand decides how long the resident may wait, and the centre's own misfiling does not buy
it more time. Either default can be overridden per step (`restart_deadline`), and the event records
which was applied. `received_at` and the acceptance deadline never move, so the 受理 figures
(及时受理率) keep counting from when the resident was first heard."""

import datetime

from django.db.models import Q

from minqing.accounts.models import Department
from minqing.tickets.models import Category, CategoryRoute, Urgency
from minqing.workdays.calendar import Deadline, WorkCalendar

RESTART_ON_REROUTE = True
RESTART_ON_RECATEGORISE = False


def ancestor_area_ids(path: str) -> list[int]:
    """The ids on a materialised area path ("/1/4/17/"), root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


def route_for(category: Category, area) -> Department | None:
    """The unit a demand of `category` at `area` goes to by default (see the module docstring)."""
    chain: list[Category] = []
    node = category
    while node is not None:
        chain.append(node)
        node = node.parent
    area_ids = ancestor_area_ids(area.path)
    depth = {pk: i for i, pk in enumerate(area_ids)}
    routes = CategoryRoute.objects.filter(
        category__in=chain, area_id__in=area_ids, department__retired_at__isnull=True
    ).select_related("department")
    best: dict[int, tuple[int, Department]] = {}
    for route in routes:
        current = best.get(route.category_id)
        if current is None or depth[route.area_id] > current[0]:
            best[route.category_id] = (depth[route.area_id], route.department)
    defaults = {
        d.pk: d
        for d in Department.objects.filter(
            Q(pk__in=[c.default_department_id for c in chain if c.default_department_id]), retired_at__isnull=True
        )
    }
    for node in chain:
        if node.pk in best:
            return best[node.pk][1]
        if node.default_department_id in defaults:
            return defaults[node.default_department_id]
    return None


def category_limits(category: Category) -> tuple[int, int, int | None]:
    """(accept hours, finish working days, urgent finish hours), each from the nearest node that sets it."""
    accept = finish = urgent = None
    node = category
    while node is not None:
        accept = accept if accept is not None else node.accept_hours
        finish = finish if finish is not None else node.finish_working_days
        urgent = urgent if urgent is not None else node.urgent_finish_hours
        node = node.parent
    return accept or 24, finish or 5, urgent


def finish_deadline(calendar: WorkCalendar, start: datetime.datetime, category: Category, urgency: str) -> Deadline:
    """The finish deadline counted from `start`: hours for an urgent demand whose category sets them,
    otherwise working days on the calendar."""
    _accept, finish_days, urgent_hours = category_limits(category)
    if urgency == Urgency.URGENT and urgent_hours:
        return calendar.hours_deadline(start, urgent_hours)
    return calendar.working_days_deadline(start, finish_days)
