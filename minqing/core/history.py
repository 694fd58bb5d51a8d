"""The change history (变更记录) of any model kept by simple-history, as a reader sees it: who,
when, and each field's old → new. Related objects are named only as far as the reader's scope
reaches — the caller passes `visible(model)`, the scoped queryset of that model for this reader —
so a history line never leaks a name the reader could not open."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import JSONField, Model, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy

from minqing.core.pii import EncryptedTextField


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


# Bookkeeping fields that mean nothing to a reader.
HIDDEN_FIELDS = frozenset(
    {"first_name", "last_name", "email", "is_staff", "is_superuser", "date_joined", "path", "created_at"}
)
# Shorter labels than the form's where the form's explains the format.
LABELS = {"boundary": gettext_lazy("边界")}

Visible = Callable[[type[Model]], QuerySet | None]


def change_log(
    obj: Model,
    *,
    visible: Visible,
    page: int | str | None = 1,
    per_page: int = 20,
    label_of: Callable[[Model], str] = str,
) -> tuple[list[ChangeLogEntry], Page]:
    """One page of `obj`'s history, newest first. `obj` must come from an access_* call."""
    model = type(obj)
    m2m = _m2m_accessors(model.history.model)
    # Many-to-many rows come prefetched and are compared here: simple-history's own diff would run
    # two queries per field per record.
    records = (
        obj.history.select_related("history_user")
        .prefetch_related(*m2m.values())
        .order_by("-history_date", "-history_id")
    )
    page_obj = Paginator(records, per_page).get_page(page)
    rows = list(page_obj.object_list)
    # The record just before the oldest one on this page, to tell what that one changed.
    end = page_obj.end_index()
    older = list(records[end : end + 1]) if rows else []
    pairs = list(zip(rows, rows[1:] + older + [None], strict=False))
    deltas = [(new, _changes(model, new, old, m2m)) for new, old in pairs]

    # Names of every related object mentioned on the page, looked up once per model, in scope.
    wanted: dict[type[Model], set] = {}
    for _record, changes in deltas:
        for name, before, after in changes or ():
            field = model._meta.get_field(name)
            if field.many_to_one:
                wanted.setdefault(field.related_model, set()).update(v for v in (before, after) if v)
            elif field.many_to_many:
                wanted.setdefault(field.related_model, set()).update(before | after)
    names: dict[type[Model], dict] = {}
    for related, ids in wanted.items():
        queryset = visible(related)
        names[related] = {o.pk: label_of(o) for o in queryset.filter(pk__in=ids)} if queryset is not None else {}

    entries = []
    for record, delta in deltas:
        changes = [
            _field_change(model._meta.get_field(name), before, after, names)
            for name, before, after in delta or ()
            if name not in HIDDEN_FIELDS and name != "retired_at"
        ]
        retired = any(name == "retired_at" and after and not before for name, before, after in delta or ())
        kind = {"+": "created", "-": "deleted"}.get(record.history_type, "retired" if retired else "changed")
        if kind == "changed" and not changes:
            continue  # only bookkeeping changed
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


def _m2m_accessors(historical_model) -> dict[str, str]:
    """Field name → the reverse accessor of simple-history's through rows (the one that prefetches)."""
    accessors = {}
    for field in getattr(historical_model, "_history_m2m_fields", []):
        through = f"{historical_model.__name__}_{field.name}"
        for rel in historical_model._meta.related_objects:
            if rel.related_model.__name__ == through:
                accessors[field.name] = rel.get_accessor_name()
    return accessors


def _changes(model, new, old, m2m: dict[str, str]) -> list[tuple[str, object, object]] | None:
    """(field, old, new) for each field that differs; many-to-many values as sets of ids."""
    if old is None:
        return None
    changes = [(c.field, c.old, c.new) for c in new.diff_against(old, excluded_fields=list(m2m)).changes]
    for name, accessor in m2m.items():
        key = f"{model._meta.get_field(name).related_model._meta.model_name}_id"
        before = {getattr(row, key) for row in getattr(old, accessor).all()}
        after = {getattr(row, key) for row in getattr(new, accessor).all()}
        if before != after:
            changes.append((name, before, after))
    return changes


def _field_change(field, old, new, names: dict) -> FieldChange:
    label = str(LABELS.get(field.name, field.verbose_name))
    if field.many_to_many:
        known = names.get(field.related_model, {})
        before, after = old, new
        added = [known.get(pk, gettext("（不在管辖范围内）")) for pk in sorted(after - before)]
        removed = [known.get(pk, gettext("（不在管辖范围内）")) for pk in sorted(before - after)]
        detail = "；".join(
            part
            for part in (
                gettext("新增：%(items)s") % {"items": "、".join(added)} if added else "",
                gettext("移除：%(items)s") % {"items": "、".join(removed)} if removed else "",
            )
            if part
        )
        count = gettext("%(n)d 项")
        return FieldChange(label, count % {"n": len(before)}, f"{count % {'n': len(after)}}（{detail}）")
    return FieldChange(label, _value(field, old, new, names, "old"), _value(field, new, old, names, "new"))


def _value(field, value, other, names: dict, side: str) -> str:
    if value in (None, ""):
        return "—"
    if field.many_to_one:
        return names.get(field.related_model, {}).get(value, gettext("（不在管辖范围内）"))
    if isinstance(field, EncryptedTextField):
        # A change log never shows personal information in clear; a reveal is its own audited step.
        return field.masked(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, JSONField):
        # A polygon is not read as text: say that it was set, or replaced.
        if other in (None, ""):
            return gettext("已设置")
        return gettext("原边界") if side == "old" else gettext("新边界")
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "Y-m-d H:i")
    return str(value)
