"""节假日安排: district staff enter the days of a year the holiday library does not know yet (the
State Council publishes each year's schedule late in the year before) and confirm the year once it
is complete, which ends the provisional deadlines of that year."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from minqing.accounts.roles import Capability, has_capability
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.core.forms import form_error
from minqing.workdays import services
from minqing.workdays.calendar import library_knows
from minqing.workdays.forms import DayOverrideForm
from minqing.workdays.models import DayOverride, ScheduleYear


def _year(request) -> int:
    raw = request.GET.get("year") or request.POST.get("year") or ""
    this_year = timezone.localdate().year
    return int(raw) if raw.isdigit() and this_year - 5 <= int(raw) <= this_year + 5 else this_year + 1


def _page(request, year: int, form: DayOverrideForm, status: int = 200):
    this_year = timezone.localdate().year
    context = {
        "year": year,
        "years": range(this_year - 1, this_year + 3),
        "days": DayOverride.objects.filter(day__year=year).order_by("day"),
        "known": library_knows(year),
        "confirmed": ScheduleYear.objects.filter(year=year).first(),
        "form": form,
    }
    return render(request, "workdays/calendar.html", context, status=status)


def _gate(user) -> None:
    if not has_capability(user, Capability.MANAGE_CALENDAR):
        raise PermissionDenied()


@login_required
@require_http_methods(["GET", "POST"])
def calendar_page(request):
    _gate(request.user)
    year = _year(request)
    if request.method == "GET":
        return _page(request, year, DayOverrideForm(initial={"is_workday": "0", "day": f"{year}-01-01"}))
    form = DayOverrideForm(request.POST)
    if form.is_valid():
        try:
            override = services.day_override_set(actor=request.user, request=request, **form.cleaned_data)
        except PermissionDenied:
            raise
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已录入 %(day)s。") % {"day": override.day.isoformat()})
            return redirect(f"{reverse('workdays:calendar')}?year={override.day.year}")
    return _page(request, year, form, status=400)


@login_required
@require_POST
def confirm_year(request):
    _gate(request.user)
    year = _year(request)
    try:
        services.schedule_year_confirm(actor=request.user, year=year, request=request)
    except PermissionDenied:
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("%(year)d 年的安排已确认；标为临时的办结期限正在后台按此重新计算。") % {"year": year}
        )
    return redirect(f"{reverse('workdays:calendar')}?year={year}")
