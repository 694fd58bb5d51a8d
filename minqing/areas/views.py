"""Pages of the area tree (区/县 → 街道 → 社区 → 网格) and places (小区 → 楼栋 → 单元 → 房屋).

Every read goes through areas.selectors (the scope rule), every write through one areas.services
call. An object outside the viewer's scope is NotFound (the 404 page); a role without
manage_places gets the 403 page from any edit URL and never sees the edit controls."""

import json
import math
from collections.abc import Callable
from functools import wraps
from itertools import groupby

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.db.models.functions import Length
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from minqing.accounts.roles import Capability, Role, has_capability
from minqing.accounts.selectors import users_visible_to
from minqing.areas import selectors, services
from minqing.areas.forms import (
    AreaCreateForm,
    AreaForm,
    AreaMoveForm,
    BoundaryForm,
    BuildingCreateForm,
    BuildingForm,
    BuildingMoveForm,
    DwellingForm,
    EstateCreateForm,
    EstateForm,
    UnitForm,
)
from minqing.areas.models import PARENT_LEVEL, Area, AreaLevel
from minqing.core.errors import NotFound, PermissionDenied
from minqing.core.forms import form_page
from minqing.core.pagination import page_links, paginate
from minqing.registry import selectors as registry_selectors

PER_PAGE = 50
ESTATES_PER_PAGE = 20
CHILD_LEVEL = {parent: child for child, parent in PARENT_LEVEL.items() if parent is not None}


# Access ------------------------------------------------------------------------------------------


def places_page(view):
    """Signed in, and a role that may look at places at all (a department may not)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_capability(request.user, Capability.VIEW_PLACES):
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapper


def _can_manage(user) -> bool:
    return has_capability(user, Capability.MANAGE_PLACES)


def _require_manage(user) -> None:
    # Called after access_*: out of scope stays 404, in scope but read-only is 403.
    if not _can_manage(user):
        raise PermissionDenied()


def _posted(request):
    # An empty POST (the retire confirmation) is still a submission: bind it, do not treat it as GET.
    return request.POST if request.method == "POST" else None


def _show_retired(request) -> bool:
    return request.GET.get("retired") == "1"


def _paginate(request, items, *, per_page: int = PER_PAGE):
    return paginate(request, items, per_page=per_page)


def _history(request, obj) -> dict:
    entries, page = selectors.change_log(request.user, obj, page=request.GET.get("hpage"))
    return {"history": entries, "history_page": page_links(request, page, param="hpage", anchor="#history")}


# Form pages --------------------------------------------------------------------------------------


def _form_page(request, **kwargs):
    return form_page(request, **{"template": "areas/form.html", **kwargs})


def _retire_page(request, *, obj, title: str, back_url: str, consequence: str, retire: Callable[[], str]):
    """Retiring asks first: the page says what happens, the button POSTs."""
    return _form_page(
        request,
        form=forms.Form(_posted(request)),
        title=title,
        back_url=back_url,
        submit=_("确认撤销"),
        save=lambda data: retire(),
        success=_("已撤销 %(name)s。") % {"name": obj},
        template="areas/confirm_retire.html",
        extra={"object": obj, "consequence": consequence},
    )


def _area_url(area) -> str:
    return reverse("areas:area_detail", args=[area.pk])


def _estate_url(estate) -> str:
    return reverse("areas:estate_detail", args=[estate.pk])


def _building_url(building) -> str:
    return reverse("areas:building_detail", args=[building.pk])


def _unit_url(unit) -> str:
    return reverse("areas:unit_detail", args=[unit.pk])


def _dwelling_url(dwelling) -> str:
    return reverse("areas:dwelling_detail", args=[dwelling.pk])


# The grid boundary as a small inline SVG -------------------------------------------------------------


def boundary_svg(geometry, *, size: int = 240, pad: int = 8) -> dict | None:
    """Path data for a GeoJSON Polygon/MultiPolygon, drawn server-side: no tiles, no network.
    Longitude is shrunk by cos(latitude) so a square block of streets looks square."""
    try:
        kind, coordinates = geometry["type"], geometry["coordinates"]
        polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
        rings = [[(float(p[0]), float(p[1])) for p in ring] for polygon in polygons for ring in polygon]
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    points = [p for ring in rings for p in ring]
    if not points:
        return None
    min_x, max_x = min(p[0] for p in points), max(p[0] for p in points)
    min_y, max_y = min(p[1] for p in points), max(p[1] for p in points)
    shrink = math.cos(math.radians((min_y + max_y) / 2))
    span = max((max_x - min_x) * shrink, max_y - min_y)
    if span <= 0:
        return None
    scale = (size - 2 * pad) / span
    width = round((max_x - min_x) * shrink * scale + 2 * pad)
    height = round((max_y - min_y) * scale + 2 * pad)

    def xy(point):
        return f"{pad + (point[0] - min_x) * shrink * scale:.1f},{pad + (max_y - point[1]) * scale:.1f}"

    d = " ".join("M" + " L".join(xy(p) for p in ring) + " Z" for ring in rings if ring)
    return {
        "width": width,
        "height": height,
        "d": d,
        "west": f"{min_x:.5f}",
        "east": f"{max_x:.5f}",
        "south": f"{min_y:.5f}",
        "north": f"{max_y:.5f}",
    }


# The area tree -----------------------------------------------------------------------------------


@places_page
@require_GET
def tree(request):
    user = request.user
    show_retired = _show_retired(request)
    nodes = selectors.areas_visible_to(user, include_retired=show_retired)
    page = _paginate(request, _depth_first(nodes))
    return render(request, "areas/tree.html", {"page": page, "rows": page.object_list, "show_retired": show_retired})


def _depth_first(nodes) -> list[tuple[Area, int]]:
    """(node, depth) with each node under its parent and siblings by code. Done in Python from one
    query: ordering by the id path would put 第10网格 before 第2网格. A node whose parent the viewer
    cannot see (a liaison's grid) is a root."""
    nodes = list(nodes)
    ids = {node.pk for node in nodes}
    children: dict[int | None, list[Area]] = {}
    for node in nodes:
        children.setdefault(node.parent_id if node.parent_id in ids else None, []).append(node)
    rows: list[tuple[Area, int]] = []

    def pushed(parent_id, depth):
        # Reversed, so that popping the stack yields siblings in code order.
        return [(n, depth) for n in sorted(children.get(parent_id, []), key=lambda n: n.code, reverse=True)]

    stack = pushed(None, 0)
    while stack:
        node, depth = stack.pop()
        rows.append((node, depth))
        stack.extend(pushed(node.pk, depth + 1))
    return rows


@places_page
@require_GET
def area_detail(request, pk):
    user = request.user
    area = selectors.access_area(user, pk)
    show_retired = _show_retired(request)
    ancestors = selectors.areas_visible_to(user, include_retired=True).filter(
        pk__in=selectors.area_ancestors(area).exclude(pk=area.pk).values("pk")
    )
    context = {
        "area": area,
        "ancestors": list(ancestors.order_by("path")),
        "show_retired": show_retired,
        "is_grid": area.level == AreaLevel.GRID,
        "child_level": CHILD_LEVEL.get(area.level),
    }
    if area.level == AreaLevel.GRID:
        buildings = (
            selectors.buildings_visible_to(user, include_retired=show_retired)
            .filter(grid=area)
            .order_by("estate__name", Length("name"), "name")
        )
        context["page"] = _paginate(request, buildings)
        context["grid_workers"] = list(users_visible_to(user).filter(area=area, role=Role.GRID_WORKER, is_active=True))
        context["boundary"] = boundary_svg(area.boundary) if area.boundary else None
    else:
        children = selectors.areas_visible_to(user, include_retired=show_retired).filter(parent=area)
        context["page"] = _paginate(request, children.order_by("code"))
    if area.level == AreaLevel.COMMUNITY:
        context["estate_count"] = selectors.estates_visible_to(user).filter(community=area).count()
    if _can_manage(user) and not area.is_retired:
        own_node = area.pk == user.area_id
        context["manage"] = {
            "create_child": area.level != AreaLevel.GRID,
            "edit": not own_node,
            "boundary": area.level == AreaLevel.GRID,
            "move": not own_node and _move_choices(user, area).exists(),
            "retire": not own_node,
        }
    context.update(_history(request, area))
    return render(request, "areas/area_detail.html", context)


def _move_choices(user, area: Area):
    return (
        selectors.areas_visible_to(user)
        .filter(level=PARENT_LEVEL[area.level])
        .exclude(pk=area.parent_id)
        .order_by("path")
    )


@places_page
@require_http_methods(["GET", "POST"])
def area_create(request, pk):
    """A new node under this one: a grid under a community, a community under a subdistrict…"""
    parent = selectors.access_area(request.user, pk)
    _require_manage(request.user)
    level = CHILD_LEVEL.get(parent.level)
    if level is None:
        raise NotFound()
    form = AreaCreateForm(_posted(request))
    if level != AreaLevel.GRID:
        del form.fields["boundary"]
    label = AreaLevel(level).label

    def save(data):
        area = services.area_create(
            actor=request.user,
            parent=parent,
            level=level,
            code=data["code"],
            name=data["name"],
            boundary=data.get("boundary"),
            request=request,
        )
        return _area_url(area)

    return _form_page(
        request,
        form=form,
        title=_("在 %(parent)s 下新建%(level)s") % {"parent": parent.name, "level": label},
        back_url=_area_url(parent),
        submit=_("新建"),
        save=save,
        success=_("已新建%(level)s。") % {"level": label},
    )


@places_page
@require_http_methods(["GET", "POST"])
def area_edit(request, pk):
    area = selectors.access_area(request.user, pk)
    _require_manage(request.user)
    form = AreaForm(_posted(request), initial={"code": area.code, "name": area.name})

    def save(data):
        services.area_update(actor=request.user, area=area, name=data["name"], code=data["code"], request=request)
        return _area_url(area)

    return _form_page(
        request,
        form=form,
        title=_("修改%(level)s名称和编码：%(name)s") % {"level": area.get_level_display(), "name": area.name},
        back_url=_area_url(area),
        submit=_("保存"),
        save=save,
        success=_("已保存。"),
    )


@places_page
@require_http_methods(["GET", "POST"])
def area_boundary(request, pk):
    area = selectors.access_area(request.user, pk)
    _require_manage(request.user)
    if area.level != AreaLevel.GRID:
        raise NotFound()
    initial = json.dumps(area.boundary, ensure_ascii=False) if area.boundary else ""
    form = BoundaryForm(_posted(request), initial={"boundary": initial})

    def save(data):
        services.area_set_boundary(actor=request.user, area=area, boundary=data["boundary"], request=request)
        return _area_url(area)

    return _form_page(
        request,
        form=form,
        title=_("设置网格边界：%(name)s") % {"name": area.name},
        back_url=_area_url(area),
        submit=_("保存边界"),
        save=save,
        success=_("边界已保存。"),
        extra={"show_boundary": True, "boundary": boundary_svg(area.boundary) if area.boundary else None},
    )


@places_page
@require_http_methods(["GET", "POST"])
def area_move(request, pk):
    area = selectors.access_area(request.user, pk)
    _require_manage(request.user)
    if area.parent_id is None:
        raise NotFound()
    form = AreaMoveForm(_posted(request), choices=_move_choices(request.user, area))

    def save(data):
        services.area_move(actor=request.user, area=area, new_parent=data["parent"], request=request)
        return _area_url(area)

    return _form_page(
        request,
        form=form,
        title=_("迁移%(level)s：%(name)s") % {"level": area.get_level_display(), "name": area.name},
        back_url=_area_url(area),
        submit=_("迁移"),
        save=save,
        success=_("已迁移。"),
        extra={"current_parent": area.parent},
    )


@places_page
@require_http_methods(["GET", "POST"])
def area_retire(request, pk):
    area = selectors.access_area(request.user, pk)
    _require_manage(request.user)
    back = _area_url(area)

    def retire():
        services.area_retire(actor=request.user, area=area, request=request)
        return back

    return _retire_page(
        request,
        obj=area,
        title=_("撤销%(level)s：%(name)s") % {"level": area.get_level_display(), "name": area.name},
        back_url=back,
        consequence=_("撤销后该区域不再出现在列表中，记录和变更历史仍然保留。须先迁出其楼栋、下级区域和人员。"),
        retire=retire,
    )


# Estates (小区) ----------------------------------------------------------------------------------


@places_page
@require_GET
def estates(request):
    user = request.user
    show_retired = _show_retired(request)
    items = selectors.estates_visible_to(user, include_retired=show_retired).order_by("community__path", "name")
    community = None
    if request.GET.get("community"):
        community = selectors.access_area(user, request.GET["community"])
        items = items.filter(community=community)
    buildings = selectors.buildings_visible_to(user, include_retired=show_retired).order_by(Length("name"), "name")
    # One query for all the page's buildings, already narrowed to what the viewer may see.
    items = items.prefetch_related(Prefetch("buildings", queryset=buildings, to_attr="visible_buildings"))
    page = _paginate(request, items, per_page=ESTATES_PER_PAGE)
    return render(
        request,
        "areas/estates.html",
        {"page": page, "community": community, "show_retired": show_retired, "can_manage": _can_manage(user)},
    )


@places_page
@require_http_methods(["GET", "POST"])
def estate_create(request):
    _require_manage(request.user)
    communities = selectors.communities_visible_to(request.user).order_by("path")
    initial = {}
    if request.GET.get("community"):
        initial["community"] = selectors.access_area(request.user, request.GET["community"]).pk
    elif len(communities) == 1:
        initial["community"] = communities[0].pk
    form = EstateCreateForm(_posted(request), choices=communities, initial=initial)

    def save(data):
        estate = services.estate_create(
            actor=request.user,
            community=data["community"],
            name=data["name"],
            address=data["address"],
            request=request,
        )
        return _estate_url(estate)

    return _form_page(
        request,
        form=form,
        title=_("新建小区"),
        back_url=reverse("areas:estates"),
        submit=_("新建"),
        save=save,
        success=_("已新建小区。"),
    )


@places_page
@require_GET
def estate_detail(request, pk):
    user = request.user
    estate = selectors.access_estate(user, pk)
    show_retired = _show_retired(request)
    buildings = (
        selectors.buildings_visible_to(user, include_retired=show_retired)
        .filter(estate=estate)
        .order_by(Length("name"), "name")
    )
    context = {
        "estate": estate,
        "page": _paginate(request, buildings),
        "show_retired": show_retired,
        "can_manage": _can_manage(user) and estate.retired_at is None,
    }
    context.update(_history(request, estate))
    return render(request, "areas/estate_detail.html", context)


@places_page
@require_http_methods(["GET", "POST"])
def estate_edit(request, pk):
    estate = selectors.access_estate(request.user, pk)
    _require_manage(request.user)
    form = EstateForm(_posted(request), initial={"name": estate.name, "address": estate.address})

    def save(data):
        services.estate_update(
            actor=request.user, estate=estate, name=data["name"], address=data["address"], request=request
        )
        return _estate_url(estate)

    return _form_page(
        request,
        form=form,
        title=_("修改小区：%(name)s") % {"name": estate.name},
        back_url=_estate_url(estate),
        submit=_("保存"),
        save=save,
        success=_("已保存。"),
    )


@places_page
@require_http_methods(["GET", "POST"])
def estate_retire(request, pk):
    estate = selectors.access_estate(request.user, pk)
    _require_manage(request.user)

    def retire():
        services.estate_retire(actor=request.user, estate=estate, request=request)
        return _estate_url(estate)

    return _retire_page(
        request,
        obj=estate,
        title=_("撤销小区：%(name)s") % {"name": estate.name},
        back_url=_estate_url(estate),
        consequence=_("须先撤销该小区的全部楼栋。撤销后记录和变更历史仍然保留。"),
        retire=retire,
    )


# Buildings (楼栋) --------------------------------------------------------------------------------


def _grid_choices(user, community_id, *, exclude=None):
    grids = selectors.grids_visible_to(user).filter(parent=community_id).order_by("code")
    return grids.exclude(pk=exclude) if exclude else grids


@places_page
@require_http_methods(["GET", "POST"])
def building_create(request, pk):
    estate = selectors.access_estate(request.user, pk)
    _require_manage(request.user)
    form = BuildingCreateForm(_posted(request), choices=_grid_choices(request.user, estate.community_id))

    def save(data):
        building = services.building_create(
            actor=request.user,
            estate=estate,
            grid=data["grid"],
            name=data["name"],
            floors=data["floors"],
            request=request,
        )
        return _building_url(building)

    return _form_page(
        request,
        form=form,
        title=_("在 %(estate)s 新建楼栋") % {"estate": estate.name},
        back_url=_estate_url(estate),
        submit=_("新建"),
        save=save,
        success=_("已新建楼栋。"),
    )


@places_page
@require_GET
def building_detail(request, pk):
    user = request.user
    building = selectors.access_building(user, pk)
    show_retired = _show_retired(request)
    units = list(
        selectors.units_visible_to(user, include_retired=show_retired).filter(building=building).order_by("name")
    )
    dwellings = (
        selectors.dwellings_visible_to(user, include_retired=show_retired)
        .filter(building=building)
        .order_by("unit__name", "unit_id", "-floor", "room")
    )
    # Unit → floor (top floor first, as the building is seen from outside) → rooms.
    by_unit = {
        unit_id: [(floor, list(items)) for floor, items in groupby(rows, key=lambda d: d.floor)]
        for unit_id, rows in groupby(dwellings, key=lambda d: d.unit_id)
    }
    unit_rows = [(unit, by_unit.get(unit.pk, [])) for unit in units]
    loose = by_unit.get(None, [])
    context = {
        "building": building,
        "unit_rows": unit_rows,
        "loose_floors": loose,
        "show_retired": show_retired,
    }
    if _can_manage(user) and building.retired_at is None:
        context["manage"] = {
            "move": _grid_choices(user, building.estate.community_id, exclude=building.grid_id).exists(),
        }
    context.update(_history(request, building))
    return render(request, "areas/building_detail.html", context)


@places_page
@require_http_methods(["GET", "POST"])
def building_edit(request, pk):
    building = selectors.access_building(request.user, pk)
    _require_manage(request.user)
    form = BuildingForm(_posted(request), initial={"name": building.name, "floors": building.floors or ""})

    def save(data):
        services.building_update(
            actor=request.user, building=building, name=data["name"], floors=data["floors"], request=request
        )
        return _building_url(building)

    return _form_page(
        request,
        form=form,
        title=_("修改楼栋：%(name)s") % {"name": building},
        back_url=_building_url(building),
        submit=_("保存"),
        save=save,
        success=_("已保存。"),
    )


@places_page
@require_http_methods(["GET", "POST"])
def building_move(request, pk):
    building = selectors.access_building(request.user, pk)
    _require_manage(request.user)
    choices = _grid_choices(request.user, building.estate.community_id, exclude=building.grid_id)
    form = BuildingMoveForm(_posted(request), choices=choices)

    def save(data):
        services.building_move(actor=request.user, building=building, grid=data["grid"], request=request)
        return _building_url(building)

    return _form_page(
        request,
        form=form,
        title=_("划转楼栋：%(name)s") % {"name": building},
        back_url=_building_url(building),
        submit=_("划转"),
        save=save,
        success=_("楼栋已划入新网格。"),
        extra={"current_grid": building.grid},
    )


@places_page
@require_http_methods(["GET", "POST"])
def building_retire(request, pk):
    building = selectors.access_building(request.user, pk)
    _require_manage(request.user)

    def retire():
        services.building_retire(actor=request.user, building=building, request=request)
        return _building_url(building)

    return _retire_page(
        request,
        obj=building,
        title=_("撤销楼栋：%(name)s") % {"name": building},
        back_url=_building_url(building),
        consequence=_("须先撤销该楼栋的全部房屋；其单元随之撤销。记录和变更历史仍然保留。"),
        retire=retire,
    )


# Units (单元) ------------------------------------------------------------------------------------


@places_page
@require_http_methods(["GET", "POST"])
def unit_create(request, pk):
    building = selectors.access_building(request.user, pk)
    _require_manage(request.user)
    form = UnitForm(_posted(request))

    def save(data):
        services.unit_create(actor=request.user, building=building, name=data["name"], request=request)
        return _building_url(building)

    return _form_page(
        request,
        form=form,
        title=_("在 %(building)s 新建单元") % {"building": building},
        back_url=_building_url(building),
        submit=_("新建"),
        save=save,
        success=_("已新建单元。"),
    )


@places_page
@require_GET
def unit_detail(request, pk):
    user = request.user
    unit = selectors.access_unit(user, pk)
    show_retired = _show_retired(request)
    dwellings = (
        selectors.dwellings_visible_to(user, include_retired=show_retired).filter(unit=unit).order_by("-floor", "room")
    )
    floors = [(floor, list(rows)) for floor, rows in groupby(dwellings, key=lambda d: d.floor)]
    context = {
        "unit": unit,
        "floors": floors,
        "show_retired": show_retired,
        "can_manage": _can_manage(user) and unit.retired_at is None,
    }
    context.update(_history(request, unit))
    return render(request, "areas/unit_detail.html", context)


@places_page
@require_http_methods(["GET", "POST"])
def unit_edit(request, pk):
    unit = selectors.access_unit(request.user, pk)
    _require_manage(request.user)
    form = UnitForm(_posted(request), initial={"name": unit.name})

    def save(data):
        services.unit_update(actor=request.user, unit=unit, name=data["name"], request=request)
        return _unit_url(unit)

    return _form_page(
        request,
        form=form,
        title=_("修改单元：%(name)s") % {"name": unit},
        back_url=_unit_url(unit),
        submit=_("保存"),
        save=save,
        success=_("已保存。"),
    )


@places_page
@require_http_methods(["GET", "POST"])
def unit_retire(request, pk):
    unit = selectors.access_unit(request.user, pk)
    _require_manage(request.user)

    def retire():
        services.unit_retire(actor=request.user, unit=unit, request=request)
        return _building_url(unit.building)

    return _retire_page(
        request,
        obj=unit,
        title=_("撤销单元：%(name)s") % {"name": unit},
        back_url=_unit_url(unit),
        consequence=_("须先撤销该单元的全部房屋。记录和变更历史仍然保留。"),
        retire=retire,
    )


# Dwellings (房屋) --------------------------------------------------------------------------------


def _unit_choices(user, building):
    return selectors.units_visible_to(user).filter(building=building).order_by("name")


@places_page
@require_http_methods(["GET", "POST"])
def dwelling_create(request, pk):
    building = selectors.access_building(request.user, pk)
    _require_manage(request.user)
    initial = {}
    if request.GET.get("unit"):
        initial["unit"] = selectors.access_unit(request.user, request.GET["unit"]).pk
    form = DwellingForm(_posted(request), choices=_unit_choices(request.user, building), initial=initial)

    def save(data):
        dwelling = services.dwelling_create(actor=request.user, building=building, request=request, **data)
        return _dwelling_url(dwelling)

    return _form_page(
        request,
        form=form,
        title=_("在 %(building)s 新建房屋") % {"building": building},
        back_url=_building_url(building),
        submit=_("新建"),
        save=save,
        success=_("已新建房屋。"),
    )


@places_page
@require_GET
def dwelling_detail(request, pk):
    user = request.user
    dwelling = selectors.access_dwelling(user, pk)
    context = {
        "dwelling": dwelling,
        "liaisons": list(users_visible_to(user).filter(dwellings=dwelling, is_active=True)),
        "can_manage": _can_manage(user) and dwelling.retired_at is None,
    }
    if has_capability(user, Capability.VIEW_RESIDENTS):
        # 居民: who lives here now and who lived here before (the registry's reading of the dwelling).
        current, former = registry_selectors.dwelling_residents(user, dwelling)
        for person in current:
            person.dwelling = dwelling  # already loaded: attach_tags reads its grid
        registry_selectors.attach_tags(user, current)
        context.update(
            show_residents=True,
            residents=current,
            former_residents=former,
            can_register=has_capability(user, Capability.MANAGE_RESIDENTS) and dwelling.retired_at is None,
        )
    context.update(_history(request, dwelling))
    return render(request, "areas/dwelling_detail.html", context)


@places_page
@require_http_methods(["GET", "POST"])
def dwelling_edit(request, pk):
    dwelling = selectors.access_dwelling(request.user, pk)
    _require_manage(request.user)
    initial = {
        "unit": dwelling.unit_id,
        "floor": "" if dwelling.floor is None else dwelling.floor,
        "room": dwelling.room,
        "housing_type": dwelling.housing_type,
        "floor_area": dwelling.floor_area or "",
    }
    form = DwellingForm(_posted(request), choices=_unit_choices(request.user, dwelling.building), initial=initial)

    def save(data):
        services.dwelling_update(actor=request.user, dwelling=dwelling, request=request, **data)
        return _dwelling_url(dwelling)

    return _form_page(
        request,
        form=form,
        title=_("修改房屋：%(name)s") % {"name": dwelling},
        back_url=_dwelling_url(dwelling),
        submit=_("保存"),
        save=save,
        success=_("已保存。"),
    )


@places_page
@require_http_methods(["GET", "POST"])
def dwelling_retire(request, pk):
    dwelling = selectors.access_dwelling(request.user, pk)
    _require_manage(request.user)

    def retire():
        services.dwelling_retire(actor=request.user, dwelling=dwelling, request=request)
        return _building_url(dwelling.building)

    return _retire_page(
        request,
        obj=dwelling,
        title=_("撤销房屋：%(name)s") % {"name": dwelling},
        back_url=_dwelling_url(dwelling),
        consequence=_("撤销后该房屋不再出现在楼栋中，记录和变更历史仍然保留。"),
        retire=retire,
    )
