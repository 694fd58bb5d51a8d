"""The working-day calendar's own data: days the library does not know yet (a year's schedule
published after the release), and which years' schedules have been entered in full."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class DayOverride(models.Model):
    """One day declared a working day or a day off by the district, over what the library says."""

    day = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True, help_text=_("如：2027年春节调休"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("节假日调整")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'上班' if self.is_workday else '放假'}"


class ScheduleYear(models.Model):
    """A year whose State Council schedule the district has entered in full (its make-up working days
    included): deadlines in it are no longer provisional."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("已录入的年度安排")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)
