"""Reads for GeoReport v2: the category tree as services, and demands as service requests, always
through tickets_visible_to / access_ticket (a key sees what its account may see, nothing more)."""

import datetime
from collections.abc import Mapping

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.core.errors import ApplicationError, NotFound
from minqing.tickets import selectors as tickets
from minqing.tickets.lifecycle import Status
from minqing.tickets.models import Category, Ticket, TicketEvent

# Open311 knows two states. A demand is closed once nobody will work on it any more: 销号, rated,
# refused, or merged into another; "handled" still waits for the community's 销号, so it is open.
CLOSED_STATES = frozenset({Status.CLOSED, Status.EVALUATED, Status.REJECTED, Status.MERGED})
MAX_REQUESTS = 1000  # the spec's ceiling for one GET requests
DEFAULT_WINDOW = datetime.timedelta(days=90)  # the spec: the default query covers the last 90 days


def open311_status(status: str) -> str:
    return "closed" if status in CLOSED_STATES else "open"


def _active_categories() -> dict[int, Category]:
    return {c.pk: c for c in Category.objects.filter(retired_at__isnull=True).order_by("order", "pk")}


def category_root(category: Category, by_id: dict[int, Category]) -> Category:
    node = category
    while node.parent_id is not None and node.parent_id in by_id:
        node = by_id[node.parent_id]
    return node


def services_list() -> list[tuple[Category, Category]]:
    """(category, its top-level category) for every active category a demand can be filed under:
    the leaves of the tree (a top-level category without children is its own leaf)."""
    by_id = _active_categories()
    parents = {c.parent_id for c in by_id.values() if c.parent_id is not None}
    leaves = [c for c in by_id.values() if c.pk not in parents]
    for c in leaves:
        c.parent = by_id.get(c.parent_id)
    ordered = sorted(leaves, key=lambda c: (category_root(c, by_id).order, category_root(c, by_id).pk, c.order, c.pk))
    return [(c, category_root(c, by_id)) for c in ordered]


def service_get(service_code: str) -> Category:
    category = None
    if str(service_code).isdigit():
        category = Category.objects.filter(pk=int(service_code), retired_at__isnull=True).first()
    if category is None:
        raise NotFound(_("没有编号为 %(code)s 的服务（诉求分类）。") % {"code": service_code}, field="service_code")
    return category


def _parse_time(raw: str, field: str) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ApplicationError(
            _("%(field)s 须为 ISO 8601 时间，如 2025-10-01T00:00:00+08:00。") % {"field": field}, field=field
        ) from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _codes(raw: str, field: str) -> list[int]:
    items = [part.strip() for part in raw.split(",") if part.strip()]
    if not items or not all(item.isdigit() for item in items):
        raise ApplicationError(_("%(field)s 须为以逗号分隔的编号。") % {"field": field}, field=field)
    return [int(item) for item in items]


def _with_details(qs) -> list[Ticket]:
    """The demands with what a service request shows: the time of the last step and the last public
    note (status_notes), in three queries whatever the count."""
    rows = list(
        qs.select_related("category", "area", "department", "building__estate", "dwelling__building__estate")
        .annotate(updated_at=Max("events__at"))
        .order_by("-received_at", "-pk")[:MAX_REQUESTS]
    )
    notes: dict[int, str] = {}
    events = (
        TicketEvent.objects.filter(ticket__in=[t.pk for t in rows], public=True)
        .exclude(note="")
        .order_by("ticket_id", "at", "pk")
        .values_list("ticket_id", "note")
    )
    for ticket_id, note in events:
        notes[ticket_id] = note  # the last one wins
    for ticket in rows:
        ticket.status_notes = notes.get(ticket.pk)
    return rows


def requests_search(user, params: Mapping[str, str]) -> list[Ticket]:
    """GET requests: `service_request_id` (comma-separated numbers) overrides every other filter;
    otherwise `service_code`, `status` (open, closed), and `start_date` / `end_date` on the time the
    demand was received (at most 90 days apart; the last 90 days when neither is given). Newest
    first, at most 1000."""
    qs = tickets.tickets_visible_to(user)
    ids = (params.get("service_request_id") or "").strip()
    if ids:
        numbers = [n.strip() for n in ids.split(",") if n.strip()][:MAX_REQUESTS]
        return _with_details(qs.filter(number__in=numbers))
    if (codes := (params.get("service_code") or "").strip()) != "":
        qs = qs.filter(category_id__in=_codes(codes, "service_code"))
    if (wanted := (params.get("status") or "").strip()) != "":
        statuses = {s.strip().lower() for s in wanted.split(",") if s.strip()}
        if not statuses or statuses - {"open", "closed"}:
            raise ApplicationError(_("status 只能是 open 或 closed。"), field="status")
        if statuses == {"open"}:
            qs = qs.exclude(status__in=CLOSED_STATES)
        elif statuses == {"closed"}:
            qs = qs.filter(status__in=CLOSED_STATES)
    start_raw, end_raw = (params.get("start_date") or "").strip(), (params.get("end_date") or "").strip()
    start = _parse_time(start_raw, "start_date") if start_raw else None
    end = _parse_time(end_raw, "end_date") if end_raw else None
    if start and end:
        if end < start:
            raise ApplicationError(_("end_date 不能早于 start_date。"), field="end_date")
        if end - start > DEFAULT_WINDOW:
            raise ApplicationError(_("start_date 与 end_date 相隔不能超过 90 天。"), field="end_date")
    if start is None and end is None:
        start = timezone.now() - DEFAULT_WINDOW
    if start is not None:
        qs = qs.filter(received_at__gte=start)
    if end is not None:
        qs = qs.filter(received_at__lte=end)
    return _with_details(qs)


def request_get(user, service_request_id: str) -> Ticket:
    """One demand by its number; missing and out of scope answer the same 404."""
    found = _with_details(tickets.tickets_visible_to(user).filter(number=service_request_id))
    if not found:
        raise NotFound()
    return found[0]
