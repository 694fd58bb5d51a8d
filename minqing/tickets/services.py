"""Writes of the demands: intake (a number at once, deadlines from the category and the working-day
calendar) and every lifecycle step, each checked against the one table in lifecycle.py and recorded
as one event, in one transaction."""

import datetime

from django.db import connection, transaction
from django.db.models import DateTimeField, F, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.models import Department
from minqing.accounts.roles import Role
from minqing.accounts.selectors import departments_visible_to
from minqing.areas import selectors as places
from minqing.areas.models import Area, Building, Dwelling
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.registry.cleaning import clean_phone
from minqing.tickets import kpis, lifecycle, notify, routing, selectors
from minqing.tickets.lifecycle import PREVIOUS, Status
from minqing.tickets.models import (
    Category,
    Channel,
    DeadlineMark,
    Level,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketFigures,
    TicketFiguresMonth,
    Urgency,
    Whistle,
)
from minqing.tickets.photos import attachments_store, prepare_photos
from minqing.tickets.routing import category_limits
from minqing.workdays.calendar import WorkCalendar

NUMBER_PREFIX = "MQ"
# A clock a little ahead of the server's must not make "now" look like the future.
CLOCK_SKEW = datetime.timedelta(minutes=2)
EARLIEST_YEAR = 2000
WHISTLE_CHECK_IN_HOURS = 24
LEVEL_ORDER = [Level.GRID, Level.COMMUNITY, Level.SUBDISTRICT, Level.DISTRICT]
ESCALATION_BY_ROLE = {
    Role.GRID_WORKER: Level.COMMUNITY,
    Role.COMMUNITY_STAFF: Level.SUBDISTRICT,
    Role.COMMUNITY_ADMIN: Level.SUBDISTRICT,
    Role.SUBDISTRICT_STAFF: Level.DISTRICT,
}


def next_number(day: datetime.date) -> str:
    """MQ20251031-0042: the day's counter, raised in the caller's transaction with one upsert, so
    concurrent intakes on SQLite or PostgreSQL each get their own number."""
    table = connection.ops.quote_name(TicketCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        (sequence,) = cursor.fetchone()
    return f"{NUMBER_PREFIX}{day:%Y%m%d}-{sequence:04d}"


def _received_at(raw, now) -> datetime.datetime:
    if raw in (None, ""):
        return now
    if isinstance(raw, str):
        try:
            raw = datetime.datetime.fromisoformat(raw)
        except ValueError:
            raise ApplicationError(_("接收时间格式不正确。"), field="received_at") from None
    if timezone.is_naive(raw):
        raw = timezone.make_aware(raw)
    if raw > now + CLOCK_SKEW:
        raise ApplicationError(_("接收时间不能晚于现在。"), field="received_at")
    if raw.year < EARLIEST_YEAR:
        # Also keeps the calendar's arithmetic away from year 1, where local time overflows.
        raise ApplicationError(_("接收时间不能早于 %(year)s 年。") % {"year": EARLIEST_YEAR}, field="received_at")
    return raw


def _place(actor, *, dwelling=None, building=None, area=None):
    """(dwelling, building, area): the most precise place given, each checked against the actor's
    scope; nothing given falls to the actor's own area. Without an actor (a resident on the public
    portal) any active place may be named, and one must be."""
    if actor is None:
        return _public_place(dwelling=dwelling, building=building, area=area)
    if dwelling not in (None, ""):
        found = places.dwellings_visible_to(actor).select_related("building__grid").filter(pk=dwelling).first()
        if found is None:
            raise ApplicationError(_("房屋不存在或不在管辖范围内。"), field="dwelling")
        return found, found.building, found.building.grid
    if building not in (None, ""):
        found = places.buildings_visible_to(actor).select_related("grid").filter(pk=building).first()
        if found is None:
            raise ApplicationError(_("楼栋不存在或不在管辖范围内。"), field="building")
        return None, found, found.grid
    if area not in (None, ""):
        found = places.areas_visible_to(actor).filter(pk=area).first()
        if found is None:
            raise ApplicationError(_("区域不存在或不在管辖范围内。"), field="area")
        return None, None, found
    own = getattr(actor, "area", None)
    if own is None:
        raise ApplicationError(_("请选择诉求发生的地点。"), field="area")
    return None, None, own


def _public_place(*, dwelling=None, building=None, area=None):
    if dwelling not in (None, ""):
        found = Dwelling.objects.active().select_related("building__grid").filter(pk=dwelling).first()
        if found is None:
            raise ApplicationError(_("房屋不存在。"), field="dwelling")
        return found, found.building, found.building.grid
    if building not in (None, ""):
        found = Building.objects.active().select_related("grid").filter(pk=building).first()
        if found is None:
            raise ApplicationError(_("楼栋不存在。"), field="building")
        return None, found, found.grid
    found = Area.objects.active().filter(pk=area).first() if area not in (None, "") else None
    if found is None:
        raise ApplicationError(_("请选择诉求发生的地点。"), field="area")
    return None, None, found


@transaction.atomic
def ticket_create(
    *,
    actor,
    category,
    channel: str,
    description: str,
    urgency: str = Urgency.NORMAL,
    received_at=None,
    dwelling=None,
    building=None,
    area=None,
    latitude=None,
    longitude=None,
    reporter_resident=None,
    reporter_name: str = "",
    reporter_phone: str = "",
    photos=(),
    request=None,
) -> Ticket:
    """Register a demand from any channel; it has its number and deadlines when this returns.
    `actor` None is a resident on the public portal. `photos` are uploaded files, all checked before
    anything is written."""
    if actor is not None and actor.role not in lifecycle.REPORTERS:
        raise PermissionDenied(_("当前角色不能登记诉求。"))
    if channel not in Channel.values:
        raise ApplicationError(_("渠道无效。"), field="channel")
    if urgency not in Urgency.values:
        raise ApplicationError(_("紧急程度无效。"), field="urgency")
    description = (description or "").strip()
    if not description:
        raise ApplicationError(_("请填写诉求内容。"), field="description")
    if len(description) > 5000:
        raise ApplicationError(_("诉求内容不能超过 5000 字。"), field="description")
    found = Category.objects.filter(pk=category.pk if isinstance(category, Category) else category)
    category = found.filter(retired_at__isnull=True).select_related("parent__parent").first()
    if category is None:
        raise ApplicationError(_("分类不存在。"), field="category")
    now = timezone.now()
    received = _received_at(received_at, now)
    dwelling_obj, building_obj, area_obj = _place(actor, dwelling=dwelling, building=building, area=area)
    if (latitude is None) != (longitude is None):
        missing = "latitude" if latitude is None else "longitude"
        raise ApplicationError(_("地图位置须同时给出纬度和经度。"), field=missing)
    try:
        phone, phone_hash = clean_phone(reporter_phone)
    except ApplicationError as exc:
        exc.field = "reporter_phone"  # the form's and the API's name for it
        raise
    prepared = prepare_photos(photos)
    accept_hours, _finish_days, _urgent_hours = category_limits(category)
    calendar = WorkCalendar.load()
    accept_due = calendar.hours_deadline(received, accept_hours)
    finish_due = routing.finish_deadline(calendar, received, category, urgency)
    ticket = Ticket.objects.create(
        number=next_number(timezone.localdate(received)),
        channel=channel,
        category=category,
        urgency=urgency,
        description=description,
        reporter_resident=reporter_resident,
        reporter_name=(reporter_name or "").strip()[:50],
        reporter_phone=phone,
        reporter_phone_hash=phone_hash,
        dwelling=dwelling_obj,
        building=building_obj,
        area=area_obj,
        area_path=area_obj.path,
        latitude=latitude,
        longitude=longitude,
        level=Level(area_obj.level),  # the levels are named as the area tree's
        department=routing.route_for(category, area_obj),
        created_by=actor,
        received_at=received,
        accept_due_at=accept_due.at,
        finish_due_at=finish_due.at,
        deadline_provisional=finish_due.provisional,
        finish_counted_from=finish_due.counted_from,
        finish_days_counted=finish_due.days,
        changed_at=now,
    )
    by = actor if actor is not None else lifecycle.RESIDENT  # no account: a resident on the portal
    event = _event(ticket, "register", "", Status.REGISTERED, by, note="", data={"channel": channel})
    attachments_store(ticket=ticket, prepared=prepared, actor=by, event=event)
    if actor is not None:
        audit_record(action="ticket.create", actor=actor, target=ticket, request=request)
    return ticket


def _event(ticket, action, from_status, to_status, actor, *, note="", public=True, data=None) -> TicketEvent:
    is_user = actor is not None and not isinstance(actor, str)
    label = {lifecycle.RESIDENT: _("居民"), lifecycle.SYSTEM: _("系统")}.get(actor, "") if not is_user else ""
    if is_user and actor.role == Role.DEPARTMENT and actor.department_id:
        label = actor.department.name
    return TicketEvent.objects.create(
        ticket=ticket,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor if is_user else None,
        actor_label=label,
        note=note,
        public=public,
        data=data or {},
    )


def _department(actor, raw) -> Department:
    """A unit the actor may call in: those serving their area (accounts' departments scope)."""
    visible = departments_visible_to(actor).filter(retired_at__isnull=True)
    department = visible.filter(pk=raw).first() if raw not in (None, "") else None
    if department is None:
        raise ApplicationError(_("请选择承办单位。"), field="department")
    return department


@transaction.atomic
def ticket_act(*, actor, number: str, action: str, note: str = "", photos=(), request=None, **params) -> Ticket:
    """Take one lifecycle step. `actor` is a user, lifecycle.RESIDENT (the portal, after checking the
    number and phone) or lifecycle.SYSTEM. Extra parameters by step: dispatch (department or handler),
    whistle (departments), merge (into), evaluate (rating, comment). `photos` go with the step's event
    (a 办结 photo), checked before anything is written."""
    ticket = (
        selectors.access_ticket(actor, number, for_update=True)
        if not isinstance(actor, str)
        else Ticket.objects.select_for_update(no_key=True).get(number=number)
    )
    note = (note or "").strip()
    step = lifecycle.check(ticket.status, action, actor, note=note)
    prepared = prepare_photos(photos, already=ticket.attachments.count()) if photos else []
    before = ticket.status
    now = timezone.now()
    data: dict = {}
    whistled: list[Department] = []
    target = step.target
    if target == PREVIOUS:
        target = ticket.status_before_suspension or Status.ACCEPTED
    if action == "accept":
        ticket.accepted_at = ticket.accepted_at or now
        if not isinstance(actor, str) and actor.role == Role.GRID_WORKER:
            ticket.handler = actor
    elif action == "dispatch":
        department = params.get("department")
        handler = params.get("handler")
        if department not in (None, ""):
            ticket.department, ticket.handler = _department(actor, department), None
            data["department"] = ticket.department.name
        elif handler not in (None, ""):
            worker = selectors.handlers_for(actor).filter(pk=handler).first()
            if worker is None:
                raise ApplicationError(_("办理人不存在或不在管辖范围内。"), field="handler")
            ticket.handler, ticket.department = worker, None
            data["handler"] = worker.display_name
        else:
            raise ApplicationError(_("请选择承办单位或办理人。"), field="department")
    elif action in ("start", "return", "handle", "progress") and actor.role == Role.DEPARTMENT:
        if (
            ticket.department_id != actor.department_id
            and not ticket.whistles.filter(department_id=actor.department_id).exists()
        ):
            raise lifecycle.TransitionError(_("该诉求未派给本单位。"), field="action", code="forbidden")
    if action == "handle":
        ticket.handled_at = now
    elif action == "escalate":
        to_level = ESCALATION_BY_ROLE.get(actor.role)
        if to_level is None or LEVEL_ORDER.index(to_level) <= LEVEL_ORDER.index(ticket.level):
            to_level = LEVEL_ORDER[min(LEVEL_ORDER.index(ticket.level) + 1, len(LEVEL_ORDER) - 1)]
        data["from_level"], data["to_level"] = ticket.level, to_level
        ticket.level, ticket.handler = to_level, None
    elif action == "whistle":
        ids = params.get("departments") or []
        departments = [_department(actor, pk) for pk in ids]
        if not departments:
            raise ApplicationError(_("请选择要吹哨的部门。"), field="departments")
        due = now + datetime.timedelta(hours=WHISTLE_CHECK_IN_HOURS)
        for department in departments:
            Whistle.objects.get_or_create(ticket=ticket, department=department, defaults={"check_in_due_at": due})
        data["departments"] = [d.name for d in departments]
        whistled = departments
    elif action == "check_in":
        whistle = ticket.whistles.filter(department_id=actor.department_id).first()
        if whistle is None:
            raise lifecycle.TransitionError(_("本单位未被吹哨。"), field="action", code="forbidden")
        whistle.checked_in_at = whistle.checked_in_at or now
        whistle.save(update_fields=["checked_in_at"])
    elif action == "suspend":
        ticket.status_before_suspension, ticket.suspended_at = ticket.status, now
    elif action == "resume":
        _extend_for_suspension(ticket, now)
        ticket.status_before_suspension, ticket.suspended_at = "", None
    elif action == "merge":
        into = selectors.access_ticket(actor, params.get("into") or "")
        if into.pk == ticket.pk or into.status in lifecycle.FINAL_STATES:
            raise ApplicationError(_("不能合并到该诉求。"), field="into")
        ticket.merged_into = into
        data["into"] = into.number
    elif action == "close":
        ticket.closed_at = now
    elif action == "recategorise":
        data = _recategorise(actor, ticket, params, now)
    elif action == "reroute":
        data = _reroute(actor, ticket, params, now)
    elif action == "evaluate":
        rating = params.get("rating")
        if rating not in RATINGS:
            raise ApplicationError(_("请选择满意、基本满意或不满意。"), field="rating")
        ticket.rating, ticket.rating_comment, ticket.rated_at = rating, (params.get("comment") or "")[:500], now
        data["rating"] = rating
    elif action == "reopen":
        ticket.closed_at = ticket.handled_at = None
    if action == "dispatch":
        ticket.ever_dispatched = True
    elif action == "return":
        ticket.ever_returned = True
    if target is not None:
        ticket.status = target
    ticket.changed_at = now  # the month of its receipt is computed again at the next figures refresh
    ticket.save()
    event = _event(ticket, action, before, ticket.status, actor, note=note, public=step.public, data=data)
    attachments_store(ticket=ticket, prepared=prepared, actor=actor, event=event)
    if not isinstance(actor, str):
        audit_record(action=f"ticket.{action}", actor=actor, target=ticket, request=request, data=data)
    merged = _tell_merged(ticket, action, note) if action in ("handle", "close") else []
    notify.step_notify(ticket, action, actor, note=note, whistled=[d.pk for d in whistled], merged=merged)
    if action == "evaluate" and params.get("rating") == UNSATISFIED and _within_reopen_window(ticket, now):
        ticket_act(actor=lifecycle.SYSTEM, number=ticket.number, action="reopen", note=_("居民评价不满意，自动重办。"))
        ticket.refresh_from_db()
    return ticket


def _tell_merged(ticket: Ticket, action: str, note: str) -> list[Ticket]:
    """The demands merged into this one get a public step with its result, so their reporters (and the
    resident following the merged number on the portal) see what became of it."""
    merged = notify.merged_chain(ticket)
    if merged:
        result = _("主诉求 %(number)s 已办结") if action == "handle" else _("主诉求 %(number)s 已销号")
        text = result % {"number": ticket.number} + (f"：{note}" if note else "")
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=m,
                action="merged_result",
                from_status=m.status,
                to_status=m.status,
                actor_label=_("系统"),
                note=text,
                public=True,
                data={"main": ticket.number, "result": action},
            )
            for m in merged
        )
    return merged


# Correcting the route (改分类 / 改派): the rules are in routing.py's docstring and the lifecycle doc.

# Where nobody holds the demand yet: the unit it would go to follows its category.
_ROUTE_FOLLOWS_CATEGORY = frozenset({Status.REGISTERED, Status.ACCEPTED, Status.ESCALATED, Status.RETURNED})
_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


def _flag(raw, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ApplicationError(_("是否重新计时的取值无效。"), field="restart_deadline")


def _named(obj) -> dict | None:
    return None if obj is None else {"id": obj.pk, "name": str(obj)}


def _handler_named(user) -> dict | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def _move_deadline(ticket: Ticket, now, *, restart: bool, recount: bool) -> dict:
    """Restart: the finish deadline counts from now. Otherwise, when `recount`, from the receipt with the
    (new) category's limits; else it stays. A deadline moved into the future clears the 临期/超期 marks
    so the sweep tells the new handler in time."""
    before = ticket.finish_due_at
    if restart or recount:
        calendar = WorkCalendar.load()
        due = routing.finish_deadline(calendar, now if restart else ticket.received_at, ticket.category, ticket.urgency)
        ticket.finish_due_at, ticket.deadline_provisional = due.at, due.provisional
        ticket.finish_counted_from, ticket.finish_days_counted = due.counted_from, due.days
        if ticket.finish_due_at > now:
            _keep_deadline_marks(ticket)
        if restart and ticket.suspended_at is not None:
            # The clock restarted now: a later resume adds only the working days suspended from here.
            ticket.suspended_at = now
    return {
        "restart_deadline": restart,
        "from_finish_due_at": timezone.localtime(before).isoformat(),
        "to_finish_due_at": timezone.localtime(ticket.finish_due_at).isoformat(),
    }


def _keep_deadline_marks(ticket: Ticket) -> None:
    """The sweep writes no event for 临期 / 超期 (the marks are shown as timeline entries); before a
    moved deadline clears the marks, they become real events, so the demand's history keeps that it
    was once overdue. Cleared, the sweep can mark the demand again under its new deadline."""
    _lock_marks("ROW EXCLUSIVE")
    marks = DeadlineMark.objects.filter(ticket=ticket)
    for action, at in marks.order_by("at").values_list("kind", "at"):
        if ticket.events.filter(action=action, at__gte=at).exists():  # kept already
            continue
        kept = _event(ticket, action, ticket.status, ticket.status, lifecycle.SYSTEM, public=False)
        TicketEvent.objects.filter(pk=kept.pk).update(at=at)  # `at` is auto_now_add: the mark's own time
    marks.delete()


def _recategorise(actor, ticket: Ticket, params: dict, now) -> dict:
    raw = params.get("category")
    raw = raw.pk if isinstance(raw, Category) else raw
    new = None
    if raw not in (None, "") and str(raw).isdigit():
        new = Category.objects.filter(pk=raw, retired_at__isnull=True).select_related("parent__parent").first()
    if new is None:
        raise ApplicationError(_("分类不存在。"), field="category")
    if new.pk == ticket.category_id:
        raise ApplicationError(_("新分类与原分类相同。"), field="category")
    old_category, old_department = ticket.category, ticket.department
    ticket.category = new
    if ticket.status in _ROUTE_FOLLOWS_CATEGORY and ticket.handler_id is None:
        ticket.department = routing.route_for(new, ticket.area)
    restart = _flag(params.get("restart_deadline"), routing.RESTART_ON_RECATEGORISE)
    return {
        "from_category": _named(old_category),
        "to_category": _named(new),
        "from_department": _named(old_department),
        "to_department": _named(ticket.department),
        **_move_deadline(ticket, now, restart=restart, recount=True),
    }


def _reroute(actor, ticket: Ticket, params: dict, now) -> dict:
    old_department, old_handler = ticket.department, ticket.handler
    department, handler = params.get("department"), params.get("handler")
    if department not in (None, ""):
        new = _department(actor, department)
        if new.pk == ticket.department_id and ticket.handler_id is None:
            raise ApplicationError(_("该诉求已由这个单位承办。"), field="department")
        ticket.department, ticket.handler = new, None
    elif handler not in (None, ""):
        worker = selectors.handlers_for(actor).filter(pk=handler).first()
        if worker is None:
            raise ApplicationError(_("办理人不存在或不在管辖范围内。"), field="handler")
        if worker.pk == ticket.handler_id:
            raise ApplicationError(_("该诉求已由这位办理人办理。"), field="handler")
        ticket.handler, ticket.department = worker, None
    else:
        raise ApplicationError(_("请选择改派的承办单位或办理人。"), field="department")
    restart = _flag(params.get("restart_deadline"), routing.RESTART_ON_REROUTE)
    return {
        "from_department": _named(old_department),
        "to_department": _named(ticket.department),
        "from_handler": _handler_named(old_handler),
        "to_handler": _handler_named(ticket.handler),
        **_move_deadline(ticket, now, restart=restart, recount=False),
    }


SATISFIED, BASICALLY, UNSATISFIED = "satisfied", "basically_satisfied", "unsatisfied"
RATINGS = {SATISFIED: _("满意"), BASICALLY: _("基本满意"), UNSATISFIED: _("不满意")}
REOPEN_WINDOW = datetime.timedelta(days=7)


def _within_reopen_window(ticket: Ticket, now) -> bool:
    return ticket.closed_at is not None and now - ticket.closed_at <= REOPEN_WINDOW


def _extend_for_suspension(ticket: Ticket, now) -> None:
    """Suspension stops the clock: the deadlines move by the working days spent suspended (whole
    days; a suspension within one day moves nothing)."""
    if ticket.suspended_at is None:
        return
    calendar = WorkCalendar.load()
    lost = calendar.working_days_between(timezone.localdate(ticket.suspended_at), timezone.localdate(now))
    if lost:
        due_day, provisional = calendar.add_working_days(timezone.localdate(ticket.finish_due_at), lost)
        ticket.finish_due_at = timezone.make_aware(
            datetime.datetime.combine(due_day, timezone.localtime(ticket.finish_due_at).time())
        )
        ticket.deadline_provisional = ticket.deadline_provisional or provisional
        if ticket.finish_days_counted is not None:
            ticket.finish_days_counted += lost


# Deadlines counted on a guessed calendar ------------------------------------------------------


def provisional_deadlines_recount(*, now: datetime.datetime | None = None) -> int:
    """The calendar changed (district staff entered a day or confirmed a year's schedule): every
    deadline marked 临时 is counted again on the calendar as it is now — the same number of working
    days (suspensions included) after the same day (the receipt or a restart). A moved deadline is an
    event on the demand; one still over an unknown year stays 临时. Returns how many moved. Run by
    the background task the calendar's services enqueue; each demand in its own short transaction,
    locked, so that a step taken meanwhile is not overwritten."""
    now = now or timezone.now()
    calendar = WorkCalendar.load()
    counted = Ticket.objects.filter(deadline_provisional=True, finish_days_counted__isnull=False)
    moved = 0
    for pk in counted.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            ticket = counted.select_for_update(no_key=True).filter(pk=pk).first()
            if ticket is not None and _recount(ticket, calendar, now):
                moved += 1
    return moved


def _recount(ticket: Ticket, calendar: WorkCalendar, now) -> bool:
    day, provisional = calendar.add_working_days(ticket.finish_counted_from, ticket.finish_days_counted)
    before = ticket.finish_due_at
    ticket.finish_due_at = timezone.make_aware(datetime.datetime.combine(day, timezone.localtime(before).time()))
    ticket.deadline_provisional = provisional
    changed = ticket.finish_due_at != before
    if changed and ticket.finish_due_at > now:
        _keep_deadline_marks(ticket)
    ticket.changed_at = timezone.now()  # 按期办结率 reads the deadline: the cube counts its month again
    ticket.save(update_fields=["finish_due_at", "deadline_provisional", "changed_at"])
    if changed:
        note = _("按录入的节假日安排重新计算办结期限。")
        data = {
            "from_finish_due_at": timezone.localtime(before).isoformat(),
            "to_finish_due_at": timezone.localtime(ticket.finish_due_at).isoformat(),
        }
        _event(ticket, "recount", ticket.status, ticket.status, lifecycle.SYSTEM, note=note, data=data)
    return changed


# The deadline sweep -----------------------------------------------------------------------------


def deadline_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Mark demands 临期 (due within DUE_SOON) and 超期 (past their finish deadline), once each, and tell
    each one's handler and supervisor (tickets.notify: one message per person and kind per run, a
    digest when it is more than one demand). Set-based: per kind one INSERT of the marks, one read of
    the demands it marked and a handful of notification rows, whatever the count (bench/tickets_scale.py:
    ~73,600 demands crossing a deadline at once among 2,000,000).

    No event row is written per demand: the DeadlineMark is the record, and the timeline shows it as a
    system entry at that time (selectors.timeline); when a moved deadline clears a mark, the step keeps
    it as a real event first (_keep_deadline_marks).

    One transaction: a sweep that fails half-way leaves neither marks nor messages, and the next one
    does it all again; a second sweep finds everything marked and tells nobody."""
    now = now or timezone.now()
    running = Ticket.objects.filter(status__in=lifecycle.RUNNING_STATES)
    counts = {}
    with transaction.atomic(durable=True):
        _lock_marks("SHARE ROW EXCLUSIVE")
        for kind, due in (
            (DeadlineMark.Kind.OVERDUE.value, running.filter(finish_due_at__lt=now)),
            (
                DeadlineMark.Kind.DUE_SOON.value,
                running.filter(finish_due_at__gte=now, finish_due_at__lt=now + lifecycle.DUE_SOON),
            ),
        ):
            counts[kind] = _mark(kind, due, now)
            if counts[kind]:
                # Exactly the demands this run marked (the mark's `at` is this run's `now`).
                stamped = due.filter(deadline_marks__kind=kind, deadline_marks__at=now).order_by("finish_due_at", "pk")
                notify.deadline_notify(kind, list(stamped.values(*notify.DEADLINE_FIELDS)), now=now)
    return counts


def _lock_marks(mode: str) -> None:
    """The sweep reads the deadlines without locking the demands (a row lock is a write to the ticket
    table, the cost the marks' own table avoids), so a step that moves a deadline while a sweep runs
    could have its cleared mark written again from the old deadline. On PostgreSQL the sweep holds the
    marks table in SHARE ROW EXCLUSIVE mode and such a step takes ROW EXCLUSIVE first (they conflict;
    steps do not conflict with each other): the step waits for the sweep's commit and then keeps and
    clears what it marked, or the sweep waits for the step and reads the new deadline. Each as its
    own statement, so the statements after it read what was committed while waiting. The steps lock
    the demand FOR NO KEY UPDATE, so the sweep's own foreign-key checks never wait for such a step
    (no deadlock). (SQLite has one writer at a time.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {DeadlineMark._meta.db_table} IN {mode} MODE")


def _mark(kind: str, due, now: datetime.datetime) -> int:
    """INSERT … SELECT a mark for each of `due`'s demands, ON CONFLICT DO NOTHING: one statement, one
    narrow row per demand newly marked (SQLite ≥ 3.24 and PostgreSQL); the count is of those. The
    conflict skips the demands marked in earlier runs, and those of a concurrent sweep: the INSERT
    waits for its transaction, then skips them, so each demand is told once. (A NOT EXISTS instead
    let PostgreSQL plan a nested loop over the marks table while it filled, 91 s at 70,000 rows.)"""
    select = due.order_by().annotate(mark_kind=Value(kind), mark_at=Value(now, output_field=DateTimeField()))
    sql, params = select.values_list("pk", "mark_kind", "mark_at").query.sql_with_params()
    table = DeadlineMark._meta.db_table
    with connection.cursor() as cursor:
        insert = f"INSERT INTO {table} (ticket_id, kind, at) {sql} ON CONFLICT (ticket_id, kind) DO NOTHING"
        cursor.execute(insert, params)
        return cursor.rowcount


# Late check-ins (吹哨报到) ---------------------------------------------------------------------------


def whistle_sweep(*, now: datetime.datetime | None = None) -> int:
    """A unit called in (吹哨) that has not checked in by its limit, on a demand still open: the unit's
    accounts and the demand's supervisor are told, once per call-in (tickets.notify). Returns how many
    call-ins were found late. Safe to run twice at once: a call-in is stamped only where still empty."""
    now = now or timezone.now()
    with transaction.atomic():
        late = Whistle.objects.filter(
            checked_in_at__isnull=True,
            late_told_at__isnull=True,
            check_in_due_at__lt=now,
            ticket__status__in=lifecycle.OPEN_STATES,
        )
        count = late.update(late_told_at=now)
        if count:
            fields = ("department_id", "department__name", "check_in_due_at", "ticket_id")
            ticket = {"number": F("ticket__number"), "area_path": F("ticket__area_path"), "level": F("ticket__level")}
            rows = list(
                Whistle.objects.filter(late_told_at=now).values(*fields, **ticket).order_by("check_in_due_at", "pk")
            )
            notify.whistle_late_notify(rows, now=now)
    return count


# The figures' cube ------------------------------------------------------------------------------

# A step's `changed_at` is its own clock reading, taken before it commits; looking back this far past
# the previous refresh catches a step that committed after that refresh had read its month (a step is
# one short transaction). The price: a month changed just before a refresh is computed by the next one
# too.
FIGURES_LOOKBACK = datetime.timedelta(minutes=2)


def ticket_figures_refresh(*, now: datetime.datetime | None = None) -> list[datetime.date]:
    """Compute again the months of the figures' cube (TicketFigures) that a step touched since the last
    refresh, and the past months it does not hold yet; the months left alone are marked as refreshed
    now (nothing in them changed). Whole past months only: the current one is always counted live.
    Run by the sweep (manage.py tickets_sweep, its task). Reads the demands, writes only the cube: no
    step or intake waits on it. Returns the months computed. `now` only places the current month (tests);
    the months are stamped with the clock."""
    now = now or timezone.now()
    this_month = timezone.localdate(now).replace(day=1)
    held = dict(TicketFiguresMonth.objects.values_list("month", "refreshed_at"))
    first = Ticket.objects.order_by("received_at").values_list("received_at", flat=True).first()
    months: set[datetime.date] = set()
    if first is not None:
        month = timezone.localdate(first).replace(day=1)
        while month < this_month:
            if month not in held:
                months.add(month)
            month = kpis.next_month(month)
    if held:
        since = min(held.values()) - FIGURES_LOOKBACK
        changed = Ticket.objects.filter(changed_at__gte=since).dates("received_at", "month")
        months.update(m for m in changed if m < this_month)
    for month in sorted(months):
        _figures_month_refresh(month)
    # Nothing changed in the other months since their last refresh: their figures hold as of now.
    unchanged = TicketFiguresMonth.objects.filter(month__lt=this_month).exclude(month__in=months)
    unchanged.update(refreshed_at=timezone.now())
    return sorted(months)


@transaction.atomic
def _figures_month_refresh(month: datetime.date) -> None:
    # The month's row is locked first, so two refreshes of one month do not interleave their rows.
    mark, _created = TicketFiguresMonth.objects.get_or_create(month=month, defaults={"refreshed_at": timezone.now()})
    mark = TicketFiguresMonth.objects.select_for_update().get(pk=mark.pk)
    mark.refreshed_at = timezone.now()  # before the reads: every step committed by then is in the figures
    TicketFigures.objects.filter(month=month).delete()
    TicketFigures.objects.bulk_create(kpis.month_figures(month), batch_size=2000)
    mark.save(update_fields=["refreshed_at"])
