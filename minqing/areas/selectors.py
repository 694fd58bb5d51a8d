"""Reads of areas and places, always through the scope rule in minqing.accounts.scope."""

from django.core.paginator import Page
from django.db.models import QuerySet

from minqing.accounts import scope
from minqing.areas.models import Area, AreaLevel, Building, Dwelling, Estate, Unit
from minqing.core import history
from minqing.core.errors import NotFound
from minqing.core.history import ChangeLogEntry


def areas_visible_to(user, *, include_retired: bool = False) -> QuerySet[Area]:
    qs = Area.objects.filter(scope.area_q(user)).select_related("parent")
    return qs if include_retired else qs.active()


def estates_visible_to(user, *, include_retired: bool = False) -> QuerySet[Estate]:
    qs = Estate.objects.filter(scope.estate_q(user)).select_related("community")
    return qs if include_retired else qs.active()


def buildings_visible_to(user, *, include_retired: bool = False) -> QuerySet[Building]:
    qs = Building.objects.filter(scope.building_q(user)).select_related("estate", "grid")
    return qs if include_retired else qs.active()


def units_visible_to(user, *, include_retired: bool = False) -> QuerySet[Unit]:
    qs = Unit.objects.filter(scope.unit_q(user)).select_related("building__estate")
    return qs if include_retired else qs.active()


def dwellings_visible_to(user, *, include_retired: bool = False) -> QuerySet[Dwelling]:
    qs = Dwelling.objects.filter(scope.dwelling_q(user)).select_related("building__estate", "building__grid", "unit")
    return qs if include_retired else qs.active()


def _access(qs: QuerySet, pk):
    try:
        return qs.get(pk=int(pk))
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def access_area(user, pk) -> Area:
    return _access(areas_visible_to(user, include_retired=True), pk)


def access_estate(user, pk) -> Estate:
    return _access(estates_visible_to(user, include_retired=True), pk)


def access_building(user, pk) -> Building:
    return _access(buildings_visible_to(user, include_retired=True), pk)


def access_unit(user, pk) -> Unit:
    return _access(units_visible_to(user, include_retired=True), pk)


def access_dwelling(user, pk) -> Dwelling:
    return _access(dwellings_visible_to(user, include_retired=True), pk)


def area_ancestors(area: Area) -> QuerySet[Area]:
    """The chain from the district down to `area` (for breadcrumbs; names only)."""
    ids = [int(p) for p in area.path.strip("/").split("/") if p]
    return Area.objects.filter(pk__in=ids).order_by("path")


def area_label(area: Area) -> str:
    return " / ".join(a.name for a in area_ancestors(area))


def grids_visible_to(user) -> QuerySet[Area]:
    return areas_visible_to(user).filter(level=AreaLevel.GRID)


def communities_visible_to(user) -> QuerySet[Area]:
    return areas_visible_to(user).filter(level=AreaLevel.COMMUNITY)


def grid_at(user, *, latitude: float, longitude: float) -> Area | None:
    """The grid of the user's scope whose boundary holds the point, or None. Boundaries are GeoJSON
    ([longitude, latitude] pairs) tested in Python with shapely: a district has at most a few
    thousand grids, and GeoDjango would need GDAL."""
    from shapely.geometry import Point, shape

    point = Point(longitude, latitude)
    for grid in grids_visible_to(user).filter(boundary__isnull=False).order_by("path"):
        try:
            if shape(grid.boundary).covers(point):
                return grid
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a malformed boundary is the areas pages' concern; it just holds no point
    return None


# Change history (变更记录) -----------------------------------------------------------------------


def visible_places(user, model):
    """The scoped queryset of a place model for this reader (for naming related objects in history)."""
    readers = {
        Area: areas_visible_to,
        Estate: estates_visible_to,
        Building: buildings_visible_to,
        Unit: units_visible_to,
        Dwelling: dwellings_visible_to,
    }
    read = readers.get(model)
    return read(user, include_retired=True) if read else None


def change_log(user, obj, *, page: int | str | None = 1, per_page: int = 20) -> tuple[list[ChangeLogEntry], Page]:
    """One page of a place's history; `obj` must come from an access_* call."""
    return history.change_log(obj, visible=lambda model: visible_places(user, model), page=page, per_page=per_page)
