"""Pages of the 民情日记: 今日走访 (who is due), 记录走访 (the phone form, which also answers the offline
queue's fetch with JSON), the export, and a visit's photos. Reads through visits.selectors, writes through one
visits.services call; out of scope is the 404 page, as everywhere."""

from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Capability, has_capability
from minqing.areas import selectors as places
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.forms import form_error
from minqing.core.pagination import paginate
from minqing.core.photos import photo_file
from minqing.registry import selectors as registry
from minqing.registry.models import ResidentStatus
from minqing.visits import selectors, services
from minqing.visits.export import export_filename, export_visits
from minqing.visits.forms import DueFilterForm, ExportForm, VisitForm

PER_PAGE = 30


def visits_page(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_capability(request.user, Capability.VIEW_RESIDENTS):
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapper


@visits_page
@require_GET
def today(request):
    user = request.user
    day = timezone.localdate()
    grids = places.grids_visible_to(user).order_by("path")
    many_grids = grids.count() > 1
    filters = DueFilterForm(request.GET, grids=grids if many_grids else ())
    grid = filters.cleaned_data.get("grid") if filters.is_valid() else None
    by_grid = selectors.due_summary_by_grid(user, day) if many_grids and grid is None else None
    # The table above the list has counted every due household once already (a district: ~0.7 s).
    count = sum(row["overdue"] + row["due_today"] for row in by_grid) if by_grid is not None else None
    page = paginate(request, selectors.due_for(user, day, grid=grid), per_page=PER_PAGE, count=count)
    selectors.attach_reasons(user, list(page.object_list), day)
    context = {
        "page": page,
        "today": day,
        "filters": filters if many_grids else None,
        "by_grid": by_grid,
        "can_export": has_capability(user, Capability.EXPORT_RESIDENTS),
        "export_form": ExportForm(),
    }
    return render(request, "visits/today.html", context)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@visits_page
@never_cache
@require_http_methods(["GET", "POST"])
def visit_new(request):
    user = request.user
    raw = request.POST.get("household") if request.method == "POST" else request.GET.get("household")
    household = registry.access_household(user, raw)
    members = list(household.members.filter(status=ResidentStatus.ACTIVE).order_by("pk"))
    form = VisitForm(
        request.POST or None,
        request.FILES or None,
        members=members,
        initial={"household": household.pk, "purpose": "routine"},
    )
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            demand = None
            if data["to_demand"]:
                demand = {"category": data["category"], "description": data["demand_description"]}
            try:
                visit = services.visit_log(
                    actor=user,
                    household=household,
                    purpose=data["purpose"],
                    note=data["note"],
                    met=data["met"],
                    visited_at=data["visited_at"] or None,
                    temperature=data["temperature"],
                    systolic=data["systolic"],
                    diastolic=data["diastolic"],
                    idempotency_key=data["idempotency_key"] or None,
                    photos=data["photos"],
                    demand=demand,
                    request=request,
                )
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                if _wants_json(request):
                    return JsonResponse({"code": exc.code, "message": str(exc.message), "field": exc.field}, status=400)
                form_error(form, exc)
            else:
                back = reverse("registry:household", args=[household.pk])
                if _wants_json(request):
                    return JsonResponse(
                        {"id": visit.pk, "replayed": visit.replayed, "household_url": back},
                        status=200 if visit.replayed else 201,
                    )
                messages.success(request, _("走访已保存。"))
                return redirect(back)
        elif _wants_json(request):
            field, errors = next(iter(form.errors.items()))
            return JsonResponse(
                {"code": "invalid", "message": str(errors[0]), "field": None if field == "__all__" else field},
                status=400,
            )
    context = {"form": form, "household": household, "members": members}
    return render(request, "visits/new.html", context)


@visits_page
@require_POST
def visit_export(request):
    form = ExportForm(request.POST)
    if form.is_valid():
        try:
            content = export_visits(
                viewer=request.user, start=form.cleaned_data["start"], end=form.cleaned_data["end"], request=request
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            response = HttpResponse(
                content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            name = export_filename()
            response["Content-Disposition"] = f"attachment; filename=\"visits.xlsx\"; filename*=UTF-8''{quote(name)}"
            return response
    else:
        messages.error(request, _("日期格式不正确。"))
    return redirect("visits:today")


@visits_page
@never_cache
@require_GET
def photo(request, pk: int, kind: str = "image"):
    """A visit's photo for those who may see the visit; out of scope is the same 404 as a missing one."""
    return photo_file(selectors.access_visit_photo(request.user, pk), kind)
