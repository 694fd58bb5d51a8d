"""Writes of the calendar: district staff enter a day the library does not know, and confirm a year
once its whole schedule is in."""

import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from minqing.accounts.roles import Capability, has_capability
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.registry.cleaning import parse_date
from minqing.workdays.models import DayOverride, ScheduleYear


def _require(actor) -> None:
    if not has_capability(actor, Capability.MANAGE_CALENDAR):
        raise PermissionDenied()


@transaction.atomic
def day_override_set(*, actor, day, is_workday: bool, note: str = "", request=None) -> DayOverride:
    _require(actor)
    date = parse_date(day, field="day", label=_("日期"), allow_future=True)
    if date is None:
        raise ApplicationError(_("请填写日期。"), field="day")
    override = DayOverride.objects.filter(day=date).first() or DayOverride(day=date, created_by=actor)
    override.is_workday = bool(is_workday)
    override.note = (note or "").strip()[:100]
    override._history_user = actor
    override.save()
    audit_record(
        action="calendar.day", actor=actor, target=override, request=request, data={"workday": override.is_workday}
    )
    _recount_deadlines()
    return override


@transaction.atomic
def schedule_year_confirm(*, actor, year: int, request=None) -> ScheduleYear:
    _require(actor)
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ApplicationError(_("年份无效。"), field="year") from None
    if not datetime.MINYEAR < year < 2100:
        raise ApplicationError(_("年份无效。"), field="year")
    if not DayOverride.objects.filter(day__year=year).exists():
        raise ApplicationError(_("请先录入 %(year)d 年的放假和调休日期。") % {"year": year}, field="year")
    confirmed, _created = ScheduleYear.objects.get_or_create(year=year, defaults={"confirmed_by": actor})
    audit_record(action="calendar.confirm_year", actor=actor, target=confirmed, request=request)
    _recount_deadlines()
    return confirmed


def _recount_deadlines() -> None:
    """Deadlines counted on a guess for this calendar are counted again, in the background (there may
    be thousands), once this change is committed."""
    from minqing.tickets.tasks import provisional_deadlines_recount_task  # the demands build on the calendar

    transaction.on_commit(provisional_deadlines_recount_task.enqueue)
