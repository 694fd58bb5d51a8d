"""民情日记: who visited which household (and whom they met), when, why, what they measured and found;
and the care plans that say how often each household must be seen (周周看、家家到).

A visit is never edited or deleted: it is what a worker saw on a day. A finding that needs work becomes
a demand (tickets.Ticket), linked both ways: `Visit.ticket` here, `ticket.visits` from the demand."""

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.areas.models import Area, AreaLevel
from minqing.core.models import StoredPhoto
from minqing.registry.models import Household, Resident, Tag


class Purpose(models.TextChoices):
    ROUTINE = "routine", _("日常走访")
    CARE = "care", _("关爱探访")
    FOUR_QUESTIONS = "four_questions", _("四问（基本情况/家长里短/困难需求/意见建议）")
    SAFETY = "safety", _("燃气电线安全检查")
    POLICY = "policy", _("政策宣传")
    FOLLOW_UP = "follow_up", _("回访")


class Flag(models.TextChoices):
    """What a reading says that a worker should act on (thresholds in services.py)."""

    FEVER = "fever", _("体温偏高")
    LOW_TEMPERATURE = "low_temperature", _("体温偏低")
    HIGH_BLOOD_PRESSURE = "high_bp", _("血压偏高")
    LOW_BLOOD_PRESSURE = "low_bp", _("血压偏低")


class Responsible(models.TextChoices):
    LIAISON = "liaison", _("联户长")
    GRID_WORKER = "grid_worker", _("网格员")


class Visit(models.Model):
    household = models.ForeignKey(Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="visits")
    # The person the visit was for (a 独居老人's weekly call), when it was for one person.
    resident = models.ForeignKey(
        Resident, verbose_name=_("走访对象"), null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    met = models.ManyToManyField(Resident, verbose_name=_("见到的人"), blank=True, related_name="visits_met")
    visited_at = models.DateTimeField(_("走访时间"), default=timezone.now)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("走访人"), on_delete=models.PROTECT, related_name="visits"
    )
    purpose = models.CharField(_("走访事由"), max_length=20, choices=Purpose.choices, default=Purpose.ROUTINE)
    note = models.TextField(_("走访情况"), blank=True)
    # Health readings: sensitive personal information (PIPL art. 28), shown to roles that may see it.
    temperature = models.DecimalField(_("体温（℃）"), max_digits=3, decimal_places=1, null=True, blank=True)
    systolic = models.PositiveSmallIntegerField(_("收缩压（mmHg）"), null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(_("舒张压（mmHg）"), null=True, blank=True)
    flags = models.JSONField(_("提示"), default=list, blank=True)  # Flag codes
    # The phone's key for one draft: the same draft sent twice (a retry after a dropped connection)
    # is one visit. Unique per worker, so two workers' keys never collide.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("转为诉求"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("走访记录")
        ordering = ["-visited_at", "-pk"]
        indexes = [
            # The due list's "last visit of this household" and the household page's diary.
            models.Index(fields=["household", "-visited_at"], name="visit_household_last"),
            models.Index(fields=["resident", "-visited_at"], name="visit_resident_last"),
            # Visits per worker and period (the figures, "my visits").
            models.Index(fields=["worker", "visited_at"], name="visit_worker_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="visit_unique_key_per_worker",
            ),
            # The same ranges as services.check_readings: nothing impossible lands, whichever way in.
            models.CheckConstraint(
                condition=Q(temperature__isnull=True) | Q(temperature__gte=30, temperature__lte=45),
                name="visit_temperature_range",
            ),
            models.CheckConstraint(
                condition=Q(systolic__isnull=True, diastolic__isnull=True)
                | Q(systolic__gte=60, systolic__lte=260, diastolic__gte=30, diastolic__lte=160),
                name="visit_blood_pressure_range",
            ),
        ]

    def __str__(self) -> str:
        return str(_("%(household)s %(date)s 走访") % {"household": self.household, "date": self.visited_at.date()})

    def scope_area_path(self) -> str:
        return self.household.dwelling.building.grid.path

    @property
    def has_readings(self) -> bool:
        return self.temperature is not None or self.systolic is not None

    def flag_labels(self) -> list[str]:
        return [str(Flag(f).label) for f in self.flags if f in Flag.values]


class VisitPhoto(StoredPhoto):
    """A photo of a finding, re-encoded on upload like a demand's (core/photos.py: no EXIF, no
    location) with its thumbnail, in the private media folder under a random name; served only by
    visits.views.photo to those who may see the visit. A demand made from the visit refers to the
    same files (tickets.TicketAttachment rows naming them): nothing is processed or stored twice."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="photos")
    image = models.FileField(upload_to="visits/%Y/%m/")
    thumbnail = models.FileField(upload_to="visits/%Y/%m/")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("走访照片")
        ordering = ["pk"]


class CarePlanRule(models.Model):
    """How often a household must be seen: every `interval_days` when one of its people carries `tag`
    (every household when `tag` is empty), and who is responsible.

    Rules without a community are the shipped defaults (独居老人 7, 高龄 14, 低保 30, every household
    90), created by migration 0002; a community's own rule for the same tag overrides the default
    there. Defaults as rows rather than copies per community: a community created tomorrow (or by a
    ledger import) is covered from its first day without anyone remembering to give it rules."""

    community = models.ForeignKey(
        Area,
        verbose_name=_("社区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_rules",
        limit_choices_to={"level": AreaLevel.COMMUNITY},
    )
    tag = models.ForeignKey(
        Tag, verbose_name=_("标签"), null=True, blank=True, on_delete=models.PROTECT, related_name="care_rules"
    )
    interval_days = models.PositiveSmallIntegerField(_("走访周期（天）"))
    responsible = models.CharField(_("负责人"), max_length=20, choices=Responsible.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("走访计划")
        ordering = ["interval_days", "pk"]
        constraints = [
            # One rule per (community, tag), the empty ones included: NULLs are never equal in a
            # plain unique index, so the columns are compared through Coalesce.
            models.UniqueConstraint(
                Coalesce("community", Value(0)), Coalesce("tag", Value(0)), name="care_rule_unique"
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1, interval_days__lte=366), name="care_rule_interval_range"
            ),
        ]

    def __str__(self) -> str:
        who = self.tag.name if self.tag_id else _("全部住户")
        return str(_("%(who)s 每 %(days)d 天") % {"who": who, "days": self.interval_days})


class HouseholdDue(models.Model):
    """What the due list needs of one household, kept so that 今日走访 for a whole district reads one
    row per household instead of its visits and its members' tags (bench/visits_due.py).

    - `last_visit_at`: its last visit, kept up to date by every visit_log (the later of the two wins,
      so a visit sent from a phone's queue never moves it back), and `since`, that visit's local date
      or, never visited, the day the household was registered (due_for's `since`);
    - `interval_days`: the strictest care rule over its active members on `counted_on`, None when no
      rule applies or nobody lives there any more;
    - `valid_until`: the first day a member may reach an age threshold (高龄) and change the interval,
      None when no such day is ahead.

    A row holds only from `counted_on` to the day before `valid_until`; outside it, and for a household
    without a row, the due list counts live (exact, slower). A row visit_log made for a household not
    yet counted has no `counted_on`: none of it holds (an earlier visit may be later than the one logged).
    The registry's services tell (registry.signals) when members, tags or thresholds change; the rows
    concerned are counted again in that transaction, or dropped and counted by a background task when
    there are many (visits.services.household_due_refresh, household_due_sweep)."""

    household = models.OneToOneField(Household, primary_key=True, on_delete=models.CASCADE, related_name="due")
    interval_days = models.PositiveSmallIntegerField(null=True)
    last_visit_at = models.DateTimeField(null=True)
    since = models.DateField(null=True)
    counted_on = models.DateField(null=True)
    valid_until = models.DateField(null=True)

    class Meta:
        indexes = [models.Index(fields=["valid_until"], name="household_due_valid_until")]
