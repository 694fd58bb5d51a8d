"""Pages of the resident registry: the search (the resident list), a resident, a household (the
doorstep page), the events of a resident's life, care tags, the reveal of one full value, and the
export of a search.

Reads go through registry.selectors (the scope rule), writes through one registry.services call.
Out of scope is NotFound (the 404 page, the same as a missing id); a role that may see the object but
not change it gets the 403 page. ID numbers and phones are masked on every page; the full value only
comes back from the reveal fragment."""

from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Capability, has_capability
from minqing.areas import selectors as places
from minqing.areas.models import AreaLevel
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.forms import form_error, form_page
from minqing.core.pagination import page_links, paginate
from minqing.registry import selectors, services
from minqing.registry.export import export_filename, export_residents
from minqing.registry.forms import (
    ChangeDwellingForm,
    DeceaseForm,
    ExportForm,
    MoveOutForm,
    ResidentForm,
    ResidentTagsForm,
    ReturnForm,
    RevealForm,
    SearchForm,
    TagCreateForm,
    ThresholdForm,
)
from minqing.registry.models import ResidentStatus
from minqing.visits import selectors as visit_selectors

PER_PAGE = 30
_EXTRA_FILTERS = ("tag", "grid", "estate", "building", "age_min", "age_max", "registration_type")
_PLACE = ("dwelling__building__estate", "dwelling__building__grid", "dwelling__unit")


def registry_page(view):
    """Signed in, and a role that may look at residents at all."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_capability(request.user, Capability.VIEW_RESIDENTS):
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapper


def _require(user, capability: str) -> None:
    # Called after access_*: out of scope stays 404, in scope but not allowed is 403.
    if not has_capability(user, capability):
        raise PermissionDenied()


def _posted(request):
    return request.POST if request.method == "POST" else None


def _resident_url(resident) -> str:
    return reverse("registry:detail", args=[resident.pk])


def _form_page(request, **kwargs):
    return form_page(request, **{"template": "registry/form.html", **kwargs})


# The search --------------------------------------------------------------------------------------


def _search_form(request) -> SearchForm:
    user = request.user
    return SearchForm(
        request.GET,
        tags=selectors.tags_visible_to(user),
        grids=places.areas_visible_to(user).filter(level=AreaLevel.GRID).order_by("path"),
        estates=places.estates_visible_to(user).order_by("name"),
        buildings=places.buildings_visible_to(user).order_by("estate__name", "name"),
    )


@registry_page
@require_GET
def resident_list(request):
    user = request.user
    form = _search_form(request)
    page = None
    if form.is_valid():
        results = selectors.search_residents(user, form.filters()).select_related(*_PLACE)
        page = paginate(request, results, per_page=PER_PAGE, cap=selectors.SEARCH_COUNT_CAP)
        selectors.attach_tags(user, list(page.object_list))
    can_export = has_capability(user, Capability.EXPORT_RESIDENTS)
    context = {
        "form": form,
        "page": page,
        "searched": bool(request.GET),
        # The extra filters stay folded on a phone unless one of them is in use.
        "filtered": any(request.GET.get(key) for key in _EXTRA_FILTERS)
        or request.GET.get("status", "active") != "active",
        "can_manage": has_capability(user, Capability.MANAGE_RESIDENTS),
        "can_export": can_export,
        "export_form": ExportForm() if can_export else None,
        "can_reveal": has_capability(user, Capability.REVEAL_PII),
        "query": request.GET.urlencode(),
    }
    return render(request, "registry/resident_list.html", context)


@registry_page
@never_cache
@require_POST
def resident_export(request):
    """The current search (its filters in the query string) as .xlsx; full values only when asked for,
    allowed, and given a reason."""
    user = request.user
    _require(user, Capability.EXPORT_RESIDENTS)
    search = _search_form(request)
    export = ExportForm(request.POST)
    if search.is_valid() and export.is_valid():
        try:
            content = export_residents(
                viewer=user,
                filters=search.filters(),
                unmasked=export.cleaned_data["unmasked"],
                reason=export.cleaned_data["reason"],
                request=request,
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_error(export, exc)
        else:
            response = HttpResponse(
                content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            name = export_filename()
            response["Content-Disposition"] = f"attachment; filename=\"residents.xlsx\"; filename*=UTF-8''{quote(name)}"
            return response
    context = {
        "form": search,
        "page": None,
        "searched": True,
        "filtered": True,
        "can_manage": has_capability(user, Capability.MANAGE_RESIDENTS),
        "can_export": True,
        "export_form": export,
        "can_reveal": has_capability(user, Capability.REVEAL_PII),
        "query": request.GET.urlencode(),
    }
    return render(request, "registry/resident_list.html", context, status=400)


# One resident ------------------------------------------------------------------------------------


@registry_page
@require_GET
def resident_detail(request, pk):
    user = request.user
    resident = selectors.access_resident(user, pk)
    selectors.attach_tags(user, [resident])
    entries, history_page = selectors.resident_change_log(user, resident, page=request.GET.get("hpage"))
    can_manage = has_capability(user, Capability.MANAGE_RESIDENTS)
    context = {
        "resident": resident,
        "household": resident.household,
        "events": selectors.resident_events(resident),
        "history": entries,
        "history_page": page_links(request, history_page, param="hpage", anchor="#history"),
        "can_manage": can_manage,
        "can_edit": can_manage and resident.is_active,
        "can_return": can_manage and resident.status == ResidentStatus.MOVED_OUT,
        "can_reveal": has_capability(user, Capability.REVEAL_PII),
        "sensitive": has_capability(user, Capability.VIEW_SENSITIVE),
        "reveal_form": RevealForm(),
        "visits": visit_selectors.resident_diary(user, resident),
    }
    return render(request, "registry/resident_detail.html", context)


@registry_page
@never_cache
@require_POST
def resident_reveal(request, pk):
    """htmx: one full value, for a reason, as a fragment; nothing else ever carries it."""
    user = request.user
    resident = selectors.access_resident(user, pk)
    _require(user, Capability.REVEAL_PII)
    form = RevealForm(request.POST)
    value = None
    if form.is_valid():
        try:
            value = services.resident_reveal(
                actor=user,
                resident=resident,
                field=form.cleaned_data["field"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_error(form, exc)
    context = {"resident": resident, "reveal_form": form, "value": value}
    if value is not None:
        context["label"] = dict(form.fields["field"].choices)[form.cleaned_data["field"]]
    # Without htmx (scripts off) the fragment comes inside the page frame.
    template = "registry/_reveal.html" if request.htmx else "registry/reveal_page.html"
    return render(request, template, context)


def _resident_form_page(request, *, resident=None, household=None, dwelling=None):
    user = request.user
    sensitive = has_capability(user, Capability.VIEW_SENSITIVE)
    creating = resident is None
    initial = {}
    if not creating:
        initial = {
            key: getattr(resident, key)
            for key in (
                "name", "document_kind", "birth_date", "sex", "ethnicity", "registration_type", "relation",
                "political_status", "occupation", "employer", "skills", "willing_to_serve", "notes",
            )
        }  # fmt: skip
        if initial["birth_date"]:
            initial["birth_date"] = initial["birth_date"].isoformat()
        if sensitive:
            initial["health_notes"] = resident.health_notes
    form = ResidentForm(
        _posted(request),
        initial=initial,
        sensitive=sensitive,
        creating=creating,
        has_id_number=bool(resident and resident.id_number),
    )
    if creating and household is None:
        # A new household at this dwelling: its first member is its head.
        form.fields["relation"].disabled = True

    def save(data):
        values = form.service_data()
        if creating:
            created = services.resident_create(
                actor=user,
                data=values,
                household=household,
                dwelling=dwelling,
                occurred_on=data.get("occurred_on") or None,
                request=request,
            )
            return _resident_url(created)
        services.resident_update(actor=user, resident=resident, data=values, request=request)
        return _resident_url(resident)

    if creating:
        place = household.dwelling if household else dwelling
        title = _("登记居民：%(place)s") % {"place": place}
        back = (
            reverse("registry:household", args=[household.pk])
            if household
            else reverse("areas:dwelling_detail", args=[dwelling.pk])
        )
    else:
        title = _("修改：%(name)s") % {"name": resident.name}
        back = _resident_url(resident)
    return _form_page(
        request,
        form=form,
        title=title,
        back_url=back,
        submit=_("保存"),
        save=save,
        success=_("已保存。"),
        extra={
            "masked_id": resident.id_number_masked if resident else "",
            "masked_phone": resident.phone_masked if resident else "",
        },
    )


@registry_page
@require_http_methods(["GET", "POST"])
def resident_create(request):
    """迁入/登记: into an existing household (?household=) or a new one at a dwelling (?dwelling=)."""
    user = request.user
    household = dwelling = None
    if request.GET.get("household"):
        household = selectors.access_household(user, request.GET["household"])
    elif request.GET.get("dwelling"):
        dwelling = places.access_dwelling(user, request.GET["dwelling"])
    else:
        raise NotFound()
    _require(user, Capability.MANAGE_RESIDENTS)
    return _resident_form_page(request, household=household, dwelling=dwelling)


@registry_page
@require_http_methods(["GET", "POST"])
def resident_edit(request, pk):
    resident = selectors.access_resident(request.user, pk)
    _require(request.user, Capability.MANAGE_RESIDENTS)
    return _resident_form_page(request, resident=resident)


# Events ------------------------------------------------------------------------------------------


def _event_page(request, pk, *, form_class, title: str, submit: str, success: str, run, form_kwargs=None):
    user = request.user
    resident = selectors.access_resident(user, pk)
    _require(user, Capability.MANAGE_RESIDENTS)
    form = form_class(_posted(request), **(form_kwargs(user, resident) if form_kwargs else {}))

    def save(data):
        run(user=user, resident=resident, data=data, request=request)
        return _resident_url(resident)

    return _form_page(
        request,
        form=form,
        title=title % {"name": resident.name},
        back_url=_resident_url(resident),
        submit=submit,
        save=save,
        success=success % {"name": resident.name},
        extra={"resident": resident},
    )


@registry_page
@require_http_methods(["GET", "POST"])
def resident_move_out(request, pk):
    def run(*, user, resident, data, request):
        services.resident_move_out(
            actor=user,
            resident=resident,
            occurred_on=data["occurred_on"],
            destination=data["destination"],
            note=data["note"],
            request=request,
        )

    return _event_page(
        request, pk, form_class=MoveOutForm, title=_("迁出：%(name)s"), submit=_("登记迁出"),
        success=_("已登记 %(name)s 迁出。"), run=run,
    )  # fmt: skip


@registry_page
@require_http_methods(["GET", "POST"])
def resident_decease(request, pk):
    def run(*, user, resident, data, request):
        services.resident_decease(
            actor=user, resident=resident, occurred_on=data["occurred_on"], note=data["note"], request=request
        )

    return _event_page(
        request, pk, form_class=DeceaseForm, title=_("登记死亡：%(name)s"), submit=_("登记"),
        success=_("已登记 %(name)s 死亡。"), run=run,
    )  # fmt: skip


@registry_page
@require_http_methods(["GET", "POST"])
def resident_return(request, pk):
    def run(*, user, resident, data, request):
        services.resident_return(
            actor=user, resident=resident, occurred_on=data["occurred_on"], note=data["note"], request=request
        )

    return _event_page(
        request, pk, form_class=ReturnForm, title=_("回迁：%(name)s"), submit=_("登记回迁"),
        success=_("已登记 %(name)s 回迁。"), run=run,
    )  # fmt: skip


def _change_dwelling_choices(user, resident) -> dict:
    households = (
        selectors.households_visible_to(user)
        .filter(dissolved_at__isnull=True)
        .exclude(pk=resident.household_id)
        .select_related("dwelling__building__estate", "dwelling__unit")
        .order_by("dwelling__building__estate__name", "dwelling__building__name", "dwelling__room", "pk")
    )
    dwellings = places.dwellings_visible_to(user).order_by(
        "building__estate__name", "building__name", "unit__name", "room"
    )
    return {"households": households, "dwellings": dwellings}


@registry_page
@require_http_methods(["GET", "POST"])
def resident_change_dwelling(request, pk):
    def run(*, user, resident, data, request):
        if not data["household"] and not data["dwelling"]:
            raise ApplicationError(_("请选择并入的户或迁入的房屋。"), field="household")
        services.resident_change_dwelling(
            actor=user,
            resident=resident,
            occurred_on=data["occurred_on"],
            household=data["household"],
            dwelling=data["dwelling"],
            note=data["note"],
            request=request,
        )

    return _event_page(
        request, pk, form_class=ChangeDwellingForm, title=_("换房：%(name)s"), submit=_("登记换房"),
        success=_("已登记 %(name)s 换房。"), run=run, form_kwargs=_change_dwelling_choices,
    )  # fmt: skip


@registry_page
@require_http_methods(["GET", "POST"])
def resident_tags(request, pk):
    user = request.user
    resident = selectors.access_resident(user, pk)
    _require(user, Capability.MANAGE_RESIDENTS)
    community_id = resident.dwelling.building.grid.parent_id
    settable = (
        selectors.tags_visible_to(user)
        .filter(min_age__isnull=True)
        .filter(Q(community__isnull=True) | Q(community_id=community_id))
    )
    current = {link.tag_id: link for link in resident.tag_links.all()}
    form = ResidentTagsForm(_posted(request), tags=list(settable), current=current)
    selectors.attach_tags(user, [resident])

    def save(data):
        services.resident_set_tags(actor=user, resident=resident, tags=form.service_tags(), request=request)
        return _resident_url(resident)

    return _form_page(
        request,
        form=form,
        title=_("设置标签：%(name)s") % {"name": resident.name},
        back_url=_resident_url(resident),
        submit=_("保存"),
        save=save,
        success=_("已保存。"),
        template="registry/resident_tags.html",
        extra={"resident": resident, "automatic": [t for t in resident.shown_tags if t.automatic]},
    )


# The household (doorstep) page -------------------------------------------------------------------


@registry_page
@require_GET
def household_detail(request, pk):
    user = request.user
    data = selectors.household_page(user, pk)
    context = {
        "data": data,
        "household": data.household,
        "can_manage": has_capability(user, Capability.MANAGE_RESIDENTS),
        "visits": visit_selectors.household_diary(user, data.household),
    }
    return render(request, "registry/household_detail.html", context)


# Care tags (community admins) -------------------------------------------------------------------


def _tags_community(request):
    """The community whose tags are managed: a community admin's own; for district staff the one
    chosen (?community=), or none (the shipped defaults)."""
    user = request.user
    if user.area_id and user.area.level == AreaLevel.COMMUNITY:
        return places.access_area(user, user.area_id)
    chosen = request.GET.get("community")
    return places.access_area(user, chosen) if chosen else None


def _tag_rows(user, community) -> list[dict]:
    own = Q(community__isnull=True) | Q(community=community) if community else Q(community__isnull=True)
    tags = selectors.tags_visible_to(user).filter(own)
    thresholds = {}
    if community is not None:
        # A community's own age where it set one, the default otherwise.
        thresholds = {tag.pk: age for tag, age in selectors.age_thresholds([community.pk])[community.pk]}
    rows = []
    for tag in tags:
        own_age = thresholds.get(tag.pk)
        rows.append(
            {
                "tag": tag,
                "own": tag.community_id is not None,
                "age": own_age or tag.min_age,
                "can_retire": tag.community_id is not None or user.role == "district_staff",
                "threshold_form": ThresholdForm(initial={"min_age": own_age if own_age != tag.min_age else None})
                if tag.is_age_tag and community is not None
                else None,
            }
        )
    return rows


@login_required
@require_GET
def tag_list(request):
    _require(request.user, Capability.MANAGE_TAGS)
    community = _tags_community(request)
    return _tag_page(request, community=community, form=TagCreateForm())


def _tag_page(request, *, community, form, status=200):
    user = request.user
    rows = _tag_rows(user, community)
    communities = []
    if not (user.area_id and user.area.level == AreaLevel.COMMUNITY):
        communities = list(places.communities_visible_to(user).order_by("path"))
    context = {"community": community, "rows": rows, "form": form, "communities": communities}
    return render(request, "registry/tag_list.html", context, status=status)


def _tags_url(community) -> str:
    url = reverse("registry:tags")
    return f"{url}?community={community.pk}" if community else url


@login_required
@require_POST
def tag_create(request):
    user = request.user
    _require(user, Capability.MANAGE_TAGS)
    community = _tags_community(request)
    form = TagCreateForm(request.POST)
    if form.is_valid():
        try:
            services.tag_create(actor=user, community=community, request=request, **form.cleaned_data)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已添加标签“%(name)s”。") % {"name": form.cleaned_data["name"]})
            return redirect(_tags_url(community))
    return _tag_page(request, community=community, form=form, status=400)


@login_required
@require_POST
def tag_retire(request, pk):
    user = request.user
    tag = selectors.access_tag(user, pk)
    _require(user, Capability.MANAGE_TAGS)
    community = _tags_community(request)
    services.tag_retire(actor=user, tag=tag, request=request)
    messages.success(request, _("已停用标签“%(name)s”。") % {"name": tag.name})
    return redirect(_tags_url(community))


@login_required
@require_POST
def tag_threshold(request, pk):
    user = request.user
    tag = selectors.access_tag(user, pk)
    _require(user, Capability.MANAGE_TAGS)
    community = _tags_community(request)
    if community is None:
        raise NotFound()
    form = ThresholdForm(request.POST)
    if form.is_valid():
        try:
            services.tag_set_threshold(
                actor=user, community=community, tag=tag, min_age=form.cleaned_data["min_age"], request=request
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("已保存“%(name)s”的年龄。") % {"name": tag.name})
    else:
        messages.error(request, _("年龄下限：%(error)s") % {"error": " ".join(form.errors.get("min_age", []))})
    return redirect(_tags_url(community))
