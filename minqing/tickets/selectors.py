"""Reads of the demands, through the one scope module."""

import datetime
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts import scope
from minqing.accounts.models import Department, User
from minqing.accounts.roles import Role
from minqing.areas.models import Area
from minqing.core.errors import ApplicationError, NotFound
from minqing.tickets import lifecycle
from minqing.tickets.lifecycle import Status
from minqing.tickets.models import Category, Ticket, TicketEvent, Whistle


def tickets_visible_to(user) -> QuerySet[Ticket]:
    return Ticket.objects.filter(scope.ticket_q(user))


def access_ticket(user, number: str, *, for_update: bool = False) -> Ticket:
    """A demand by its number; missing and out of scope answer the same."""
    qs = tickets_visible_to(user)
    if for_update:
        # Lock the row itself (the scope filter may hold a subquery PostgreSQL cannot lock through).
        pk = qs.filter(number=number).values_list("pk", flat=True).first()
        if pk is None:
            raise NotFound()
        return Ticket.objects.select_for_update().get(pk=pk)
    found = qs.filter(number=number).select_related("category", "area", "department", "handler").first()
    if found is None:
        raise NotFound()
    return found


def handlers_for(user) -> QuerySet[User]:
    """Grid workers a demand may be dispatched to: those of the dispatcher's subtree."""
    return User.objects.filter(scope.user_q(user), role=Role.GRID_WORKER, is_active=True)


# Lists and queues (the pages) ---------------------------------------------------------------------

LIST_COUNT_CAP = 1000
# The levels a role works at: community staff take what is registered in their grids too (the grid
# worker may be out); above the community only what was escalated to that level.
_STAFF_LEVELS = {
    Role.COMMUNITY_STAFF: ("grid", "community"),
    Role.COMMUNITY_ADMIN: ("grid", "community"),
    Role.SUBDISTRICT_STAFF: ("subdistrict",),
    Role.DISTRICT_STAFF: ("district",),
}
_LIST_RELATED = ("category__parent", "area", "dwelling__building__estate", "dwelling__unit", "building__estate")


def ticket_list(user) -> QuerySet[Ticket]:
    return tickets_visible_to(user).select_related(*_LIST_RELATED)


def queue_q(user) -> Q:
    """待我处理: what waits for this user's step. A department: demands dispatched to its unit and not
    yet finished, and those it was whistled to; a grid worker: the demands it handles and those
    registered in its grid; staff: the demands at their level waiting to be accepted, dispatched again
    or closed (销号)."""
    if user.role == Role.DEPARTMENT:
        whistled = Whistle.objects.filter(department_id=user.department_id).values("ticket_id")
        return Q(department_id=user.department_id, status__in=[Status.DISPATCHED, Status.IN_PROGRESS]) | Q(
            pk__in=whistled, status=Status.WHISTLED
        )
    mine = Q(handler_id=user.pk, status__in=[Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS])
    if user.role == Role.GRID_WORKER:
        return mine | Q(status__in=[Status.REGISTERED, Status.REOPENED], level="grid")
    levels = _STAFF_LEVELS.get(user.role)
    if levels is None:
        return Q(pk__in=[])
    waiting = [Status.REGISTERED, Status.RETURNED, Status.ESCALATED, Status.REOPENED, Status.HANDLED]
    return mine | Q(level__in=levels) & (Q(status__in=waiting) | Q(status=Status.ACCEPTED, handler__isnull=True))


def ticket_queue(user) -> QuerySet[Ticket]:
    return ticket_list(user).filter(queue_q(user))


def has_queue(user) -> bool:
    return user.role in lifecycle.HANDLERS


@dataclass(frozen=True)
class TicketFilters:
    """The filters of every demand list: the list page, its .xlsx export and the API. Each is
    optional; they narrow an already scoped queryset."""

    q: str = ""  # a number (whole or its MQ… beginning) or text of the description
    status: tuple[str, ...] = ()  # any of these states
    category: int | None = None  # with its sub-categories
    channel: str = ""
    urgency: str = ""
    due: str = ""  # "soon" (临期), "overdue" (超期) or "not_overdue"
    area: int | None = None  # with the areas under it
    received_from: datetime.date | None = None  # local days, both ends included
    received_to: datetime.date | None = None
    department: int | None = None
    handler: int | None = None


_NUMBER_LIKE = re.compile(r"MQ\d{8}-\d{4,}", re.IGNORECASE)


def category_subtree_ids(root: int) -> list[int]:
    """A category and everything under it, as ids: a filter by ids keeps PostgreSQL on an index where
    an OR over a join to the categories would not (the tree is small: one query for all links)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = [], [root]
    while todo:
        pk = todo.pop()
        found.append(pk)
        todo.extend(children.get(pk, ()))
    return found


def filter_tickets(qs: QuerySet[Ticket], filters: TicketFilters, *, now=None) -> QuerySet[Ticket]:
    if filters.received_from and filters.received_to and filters.received_from > filters.received_to:
        raise ApplicationError(_("结束日期不能早于开始日期。"), field="received_to")
    now = now or timezone.now()
    text = (filters.q or "").strip()
    if text:
        if _NUMBER_LIKE.fullmatch(text):
            qs = qs.filter(number=text.upper())
        elif text.upper().startswith("MQ"):
            qs = qs.filter(number__startswith=text.upper())
        else:
            qs = qs.filter(description__contains=text)
    if filters.status:
        qs = qs.filter(status__in=filters.status)
    if filters.category:
        qs = qs.filter(category_id__in=category_subtree_ids(filters.category))
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.urgency:
        qs = qs.filter(urgency=filters.urgency)
    overdue = Q(status__in=lifecycle.RUNNING_STATES, finish_due_at__lt=now)
    if filters.due == "overdue":
        qs = qs.filter(overdue)
    elif filters.due == "not_overdue":
        qs = qs.filter(~overdue)
    elif filters.due == "soon":
        qs = qs.filter(
            status__in=lifecycle.RUNNING_STATES, finish_due_at__gte=now, finish_due_at__lt=now + lifecycle.DUE_SOON
        )
    if filters.area:
        # Any node; the scope already limits the answer, so another's area finds nothing.
        path = Area.objects.filter(pk=filters.area).values_list("path", flat=True).first()
        qs = qs.filter(area_path__startswith=path) if path else qs.none()
    if filters.received_from:
        qs = qs.filter(received_at__gte=_day_start(filters.received_from))
    if filters.received_to:
        qs = qs.filter(received_at__lt=_day_start(filters.received_to + datetime.timedelta(days=1)))
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    if filters.handler:
        qs = qs.filter(handler_id=filters.handler)
    return qs


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def due_state(ticket: Ticket, now) -> str:
    """ "overdue" (超期), "soon" (临期) or "" — the badge on a row."""
    if ticket.status not in lifecycle.RUNNING_STATES:
        return ""
    if ticket.finish_due_at < now:
        return "overdue"
    if ticket.finish_due_at < now + lifecycle.DUE_SOON:
        return "soon"
    return ""


def queue_owners(user) -> tuple[QuerySet, QuerySet]:
    """For a supervisor's filters: the units and grid workers whose queues they may look into."""
    from minqing.accounts.selectors import departments_visible_to

    if user.role not in lifecycle.STAFF:
        return Department.objects.none(), User.objects.none()
    departments = departments_visible_to(user).filter(retired_at__isnull=True).order_by("name")
    return departments, handlers_for(user).select_related("area").order_by("display_name")


@dataclass
class TicketPage:
    ticket: Ticket
    events: list[TicketEvent]
    whistles: list[Whistle]
    merged: list[Ticket]


def timeline(ticket: Ticket, events: list[TicketEvent]) -> list[TicketEvent]:
    """The demand's events (ordered by time) with the sweep's 临期 / 超期 marks (ticket.warned_at,
    ticket.overdue_at) as system entries at their time: the sweep writes no row per demand. The
    entries are unsaved (pk None). A mark already kept as a real event (services._keep_deadline_marks,
    or an event written by an older sweep, at or after the mark) is not shown twice."""
    marks = []
    for action, at in (("due_soon", ticket.warned_at), ("overdue", ticket.overdue_at)):
        if at is None or any(e.action == action and e.at >= at for e in events):
            continue
        earlier = [e for e in events if e.at <= at]
        status = earlier[-1].to_status if earlier else ticket.status  # the state it was in then
        marks.append(
            TicketEvent(
                ticket=ticket,
                action=action,
                from_status=status,
                to_status=status,
                actor_label=str(_("系统")),
                at=at,
                public=False,
            )
        )
    return sorted([*events, *marks], key=lambda e: e.at) if marks else events  # stable: keeps (at, pk)


def ticket_page(user, number: str) -> TicketPage:
    """A demand with its timeline (each step with its photos) and whistles (five queries whatever the
    length)."""
    ticket = access_ticket(user, number)
    events = list(
        ticket.events.select_related("actor", "actor__department").prefetch_related("attachments").order_by("at", "pk")
    )
    events = timeline(ticket, events)
    whistles = list(ticket.whistles.select_related("department").order_by("called_at", "pk"))
    merged = list(tickets_visible_to(user).filter(merged_into=ticket).only("number"))
    return TicketPage(ticket=ticket, events=events, whistles=whistles, merged=merged)
