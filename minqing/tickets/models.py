"""诉求清单账: every demand has a number, an owner and a deadline, and every step is an event."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from minqing.accounts.models import Department
from minqing.areas.models import Area, Building, Dwelling
from minqing.core.models import StoredPhoto
from minqing.core.pii import EncryptedTextField
from minqing.tickets.lifecycle import RUNNING_STATES, Status


class Channel(models.TextChoices):
    DESK = "desk", _("接待")
    PHONE = "phone", _("电话")
    VISIT = "visit", _("走访")
    GRID_PATROL = "grid_patrol", _("网格巡查")
    LIAISON = "liaison", _("联户长上报")
    PORTAL = "portal", _("线上")
    HOTLINE_12345 = "hotline_12345", _("12345")
    SMART_PLATFORM = "smart_platform", _("智慧平台")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class Level(models.TextChoices):
    """Where a demand is worked: 小事不出网格, 大事不出社区."""

    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    SUBDISTRICT = "subdistrict", _("街道")
    DISTRICT = "district", _("区")


class Category(models.Model):
    """A node of the category tree a district maintains (市政设施 / 下水堵塞). Limits sit on any node;
    a leaf without its own takes its parent's."""

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(_("名称"), max_length=50)
    accept_hours = models.PositiveSmallIntegerField(_("受理时限（小时）"), null=True, blank=True)
    finish_working_days = models.PositiveSmallIntegerField(_("办结时限（工作日）"), null=True, blank=True)
    urgent_finish_hours = models.PositiveSmallIntegerField(_("紧急件办结时限（小时）"), null=True, blank=True)
    default_department = models.ForeignKey(
        Department, verbose_name=_("默认承办单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.PositiveSmallIntegerField(default=100)
    retired_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("诉求分类")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], condition=Q(retired_at__isnull=True), name="category_unique_active_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name}/{self.name}" if self.parent_id else self.name


class CategoryRoute(models.Model):
    """Where a category goes in one area, over the category's default unit."""

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="routes")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "area"], name="category_route_unique")]


class TicketCounter(models.Model):
    """The last number given out on a day: the number is taken in the same transaction as the demand,
    with the row locked, so two desks never get the same one."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


# What tickets.kpis reads of a demand (its two indexes below carry them).
_FIGURES_COLUMNS = [
    "id",
    "status",
    "area_path",
    "area_id",
    "category_id",
    "channel",
    "handler_id",
    "department_id",
    "accepted_at",
    "accept_due_at",
    "handled_at",
    "finish_due_at",
    "rating",
    "ever_dispatched",
    "ever_returned",
]


class Ticket(models.Model):
    number = models.CharField(_("编号"), max_length=20, unique=True)
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    category = models.ForeignKey(Category, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="tickets")
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    description = models.TextField(_("诉求内容"))

    # Reporter: a registered resident, or a name and phone (encrypted like every phone).
    reporter_resident = models.ForeignKey(
        "registry.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    reporter_name = models.CharField(_("反映人"), max_length=50, blank=True)
    reporter_phone = EncryptedTextField(_("联系电话"), blank=True, default="", mask="phone")
    reporter_phone_hash = models.CharField(max_length=64, null=True, blank=True, db_index=True, editable=False)

    # Place: the most precise known; `area` is the grid (or higher node) the demand belongs to and
    # what scope follows.
    dwelling = models.ForeignKey(Dwelling, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    area = models.ForeignKey(Area, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="tickets")
    area_path = models.CharField(max_length=255, db_index=True, editable=False)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.REGISTERED)
    status_before_suspension = models.CharField(max_length=20, blank=True)
    level = models.CharField(_("办理层级"), max_length=20, default="grid")
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="handled_tickets"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("承办单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # Time: received (may be earlier than registered: yesterday's paper note), and the deadlines.
    received_at = models.DateTimeField(_("接收时间"))
    registered_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    accept_due_at = models.DateTimeField(_("受理期限"))
    finish_due_at = models.DateTimeField(_("办结期限"))
    deadline_provisional = models.BooleanField(default=False)
    # How the finish deadline was counted: working days (suspensions added) after a local day (the
    # receipt or a restart), so a provisional one is counted again when the schedule is entered; null
    # when it runs in hours (urgent).
    finish_counted_from = models.DateField(null=True, blank=True)
    finish_days_counted = models.PositiveSmallIntegerField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # The sweep's 临期 / 超期 marks are DeadlineMark rows, not columns here (see there).

    rating = models.CharField(_("评价"), max_length=20, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    # Set by the step that dispatches / returns it (退单率 in docs/kpis.md, without reading the events).
    ever_dispatched = models.BooleanField(default=False, editable=False)
    ever_returned = models.BooleanField(default=False, editable=False)
    # Set by every step (services): which months of the figures' cube (TicketFigures) to compute again.
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("诉求")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "finish_due_at"], name="ticket_open_due"),
            models.Index(fields=["handler", "status"], name="ticket_handler_status"),
            models.Index(fields=["department", "status"], name="ticket_department_status"),
            # The figures' live part (tickets.kpis): the days outside the cube's months are read from
            # this index alone (an index-only scan, no visit of the wide rows); it replaces the plain
            # index on received_at, so a step updates no more indexes than before.
            models.Index(fields=["received_at"], include=_FIGURES_COLUMNS, name="ticket_received_figures"),
            # ... and the open, running demands of the cube's months, late or not "now".
            models.Index(
                fields=["received_at"],
                include=_FIGURES_COLUMNS,
                condition=Q(status__in=RUNNING_STATES),
                name="ticket_running_figures",
            ),
            # A list filtered by status over a period, newest first (and its capped count).
            models.Index(fields=["status", "received_at"], name="ticket_status_received"),
            # The figures' refresh: the demands changed since the last one.
            models.Index(fields=["changed_at"], name="ticket_changed"),
        ]

    def __str__(self) -> str:
        return self.number

    def scope_area_path(self) -> str:
        return self.area_path


class TicketFigures(models.Model):
    """The counts of tickets.kpis for the demands received in one whole past month, per area and one
    group (docs/kpis.md "How it is computed"): the figures' cube, written only by
    services.ticket_figures_refresh, never by a step, so intake and steps share no row with it.

    For dimension "area" the area is the demand's own (a grid, usually); for the others it is the
    demand's community (or its own area when placed above one), which is the finest scope the page
    cuts by. Counts that depend on "now" (late while still open) are never stored."""

    month = models.DateField()  # the first day of the month of receipt (local)
    dimension = models.CharField(max_length=12)  # "area", "category", "channel", "department"
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    area_path = models.CharField(max_length=255)
    key = models.CharField(max_length=40, blank=True)  # the group within the dimension ("" for "area")
    received = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    accepted_on_time = models.PositiveIntegerField(default=0)
    handled = models.PositiveIntegerField(default=0)
    handled_on_time = models.PositiveIntegerField(default=0)
    handled_late = models.PositiveIntegerField(default=0)
    handled_seconds = models.FloatField(default=0)
    finished = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    rated_good = models.PositiveIntegerField(default=0)
    dispatched = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["dimension", "month"], name="ticket_figures_month")]


class TicketFiguresMonth(models.Model):
    """A month the cube holds, and when it was computed: the figures of that month are as of then."""

    month = models.DateField(primary_key=True)
    refreshed_at = models.DateTimeField()


class TicketEvent(models.Model):
    """One step: who, when, from which state to which, and the note the next reader needs."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("操作"), max_length=20)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(max_length=100, blank=True)  # "居民", "系统", a unit's name
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(_("说明"), blank=True)
    public = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "at"], name="ticket_event_timeline"),
            # The figures' 退单率: the demands with a dispatch / a return (tickets.kpis).
            models.Index(fields=["action", "ticket"], name="ticket_event_action"),
        ]


class DeadlineMark(models.Model):
    """The sweep's 临期 (told it is due soon) or 超期 (marked overdue) on a demand, at most one of each:
    the record of it (no event row is written per demand; the timeline shows the mark). A table of its
    own because the sweep marks ~70,000 demands at once: as columns of tickets_ticket each mark was a
    new row version with an entry in every one of its ~21 indexes (37 s at 2,000,000 demands); here it
    is one narrow row in one index (bench/RESULTS.md). A moved deadline deletes the marks so the demand
    can be marked again, after keeping them as real events (services._keep_deadline_marks)."""

    class Kind(models.TextChoices):
        # The values are the timeline's event actions.
        DUE_SOON = "due_soon", _("临期")
        OVERDUE = "overdue", _("超期")

    # (ticket, kind) as the primary key: the sweep's INSERT … ON CONFLICT DO NOTHING marks each demand
    # once per kind, and the one index serves the lookups by demand.
    pk = models.CompositePrimaryKey("ticket_id", "kind")
    # No database constraint: PostgreSQL checks a foreign key by locking the demand's row (FOR KEY
    # SHARE), a write to the wide ticket table again, 3.0 s at commit for 70,000 marks. The sweep
    # inserts only ids it has just read from tickets_ticket, and demands are never deleted.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="deadline_marks", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=20, choices=Kind)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class Whistle(models.Model):
    """社区吹哨、部门报到: one department called in on a demand, its check-in and its report."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="whistles")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="whistles")
    called_at = models.DateTimeField(auto_now_add=True)
    check_in_due_at = models.DateTimeField()
    checked_in_at = models.DateTimeField(null=True, blank=True)
    late_told_at = models.DateTimeField(null=True, blank=True)  # the sweep told of a missed check-in
    reported_at = models.DateTimeField(null=True, blank=True)
    report = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "department"], name="whistle_unique")]


class ReplyTemplate(models.Model):
    """常用回复: a note a clerk picks instead of typing it again. District-wide (community empty) or a
    community's own; optionally meant for one step (its action code), otherwise for any."""

    community = models.ForeignKey(
        Area, verbose_name=_("所属社区"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("标题"), max_length=50)
    text = models.TextField(_("回复内容"), max_length=1000)
    action = models.CharField(_("适用步骤"), max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("常用回复")
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class TicketAttachment(StoredPhoto):
    """A photo of a demand, re-encoded on upload (no EXIF, no location) with its thumbnail. The files
    live in the private media folder (MINQING_VAR_DIR/media) under random names and are served only
    by views that check who may see the demand."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="attachments")
    # The step the photo came with (a handler's 办结 photo); none for the photos given at intake.
    event = models.ForeignKey(TicketEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments")
    image = models.FileField(upload_to="tickets/%Y/%m/")
    thumbnail = models.FileField(upload_to="tickets/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=100, blank=True)  # "居民" when no account
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("诉求照片")
        ordering = ["created_at", "pk"]
