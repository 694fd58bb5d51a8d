"""Reads of areas and places, always through the scope rule in minqing.accounts.scope."""

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import JSONField, QuerySet
from django.utils.translation import gettext, gettext_lazy

from minqing.accounts import scope
from minqing.areas.models import Area, AreaLevel, Building, Dwelling, Estate, Unit
from minqing.core.errors import NotFound


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


# Change history (变更记录) -----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class ChangeLogEntry:
    at: datetime
    who: str
    kind: str  # "created", "changed", "retired", "deleted"
    changes: list[FieldChange]


# The scoped reads that turn a historical foreign key into a name the viewer may see.
_RELATED_VISIBLE = {
    Area: lambda user: areas_visible_to(user, include_retired=True),
    Estate: lambda user: estates_visible_to(user, include_retired=True),
    Building: lambda user: buildings_visible_to(user, include_retired=True),
    Unit: lambda user: units_visible_to(user, include_retired=True),
}
_RELATED_LABEL = {Unit: lambda unit: unit.name}
# Shorter labels than the form's where the form's explains the format.
_HISTORY_LABELS = {"boundary": gettext_lazy("边界")}


def change_log(user, obj, *, page: int | str | None = 1, per_page: int = 20) -> tuple[list[ChangeLogEntry], Page]:
    """One page of an object's simple-history records, newest first, each as who / when / what
    changed from what to what. `obj` must come from an access_* call: its history is as visible as
    it is; a related object outside the viewer's scope is named only as such."""
    records = obj.history.select_related("history_user").order_by("-history_date", "-history_id")
    paginator = Paginator(records, per_page)
    page_obj = paginator.get_page(page)
    rows = list(page_obj.object_list)
    # The record just before the oldest one on this page, to tell what that one changed.
    end = page_obj.end_index()
    older = list(records[end : end + 1]) if rows else []
    pairs = list(zip(rows, rows[1:] + older + [None], strict=False))
    model = type(obj)
    deltas = [(new, new.diff_against(old) if old is not None else None) for new, old in pairs]

    related_ids: dict[str, set] = {}
    for _record, delta in deltas:
        for change in delta.changes if delta else ():
            field = model._meta.get_field(change.field)
            if field.many_to_one:
                related_ids.setdefault(change.field, set()).update(v for v in (change.old, change.new) if v)
    names: dict[str, dict] = {}
    for field_name, ids in related_ids.items():
        related = model._meta.get_field(field_name).related_model
        label = _RELATED_LABEL.get(related, str)
        names[field_name] = {o.pk: label(o) for o in _RELATED_VISIBLE[related](user).filter(pk__in=ids)}

    entries = []
    for record, delta in deltas:
        if record.history_type == "+":
            kind = "created"
        elif record.history_type == "-":
            kind = "deleted"
        elif delta and any(c.field == "retired_at" and c.new and not c.old for c in delta.changes):
            kind = "retired"
        else:
            kind = "changed"
        changes = []
        for change in delta.changes if delta else ():
            if change.field == "retired_at":
                continue
            field = model._meta.get_field(change.field)
            changes.append(
                FieldChange(
                    label=str(_HISTORY_LABELS.get(change.field, field.verbose_name)),
                    old=_history_value(field, change.old, names.get(change.field), other=change.new, side="old"),
                    new=_history_value(field, change.new, names.get(change.field), other=change.old, side="new"),
                )
            )
        who = record.history_user
        entries.append(
            ChangeLogEntry(
                at=record.history_date,
                who=(who.display_name or who.username) if who else gettext("系统"),
                kind=kind,
                changes=changes,
            )
        )
    return entries, page_obj


def _history_value(field, value, names: dict | None, *, other, side: str) -> str:
    if value in (None, ""):
        return "—"
    if field.many_to_one:
        return (names or {}).get(value, gettext("（不在管辖范围内）"))
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, JSONField):
        # A polygon is not read as text: say that it was set, or replaced.
        if other in (None, ""):
            return gettext("已设置")
        return gettext("原边界") if side == "old" else gettext("新边界")
    return str(value)
