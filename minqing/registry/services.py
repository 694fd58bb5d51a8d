"""Writes of the registry. Each service checks the actor's capability and scope, cleans the input
with the rules every way in shares (cleaning.py), and writes with history (the actor recorded), an
event where a resident's life changes, and an audit entry — in one transaction."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Capability, has_capability
from minqing.areas import selectors as places
from minqing.areas.models import Area, AreaLevel, Dwelling
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.registry import selectors, signals
from minqing.registry.cleaning import clean_flag, clean_resident_fields, parse_date
from minqing.registry.models import (
    EventKind,
    Household,
    Relation,
    Resident,
    ResidentEvent,
    ResidentStatus,
    ResidentTag,
    Tag,
    TagThreshold,
)

REVEALABLE_FIELDS = {"id_number": _("证件号码"), "phone": _("联系电话")}
# Fields a service may set directly from cleaned input; the rest change through events.
_PROFILE_FIELDS = frozenset(
    {
        "name", "name_pinyin", "name_initials", "document_kind", "id_number", "id_number_hash", "birth_date",
        "sex", "phone", "phone_hash", "ethnicity", "registration_type", "relation", "political_status",
        "occupation", "employer", "skills", "willing_to_serve", "notes", "health_notes",
        "moved_in_on",
    }
)  # fmt: skip
_SENSITIVE_FIELDS = frozenset({"health_notes"})


def _require(actor, capability: str) -> None:
    if not has_capability(actor, capability):
        raise PermissionDenied()


def _save(obj: Model, *, actor, action: str, request=None, data=None, audit: bool = True) -> None:
    obj._history_user = actor
    obj.save()
    if audit:
        audit_record(action=action, actor=actor, target=obj, request=request, data=data or {})


def _require_active(resident: Resident) -> None:
    if not resident.is_active:
        raise ApplicationError(
            _("%(name)s 已%(status)s，档案只作留存，不能再修改。")
            % {"name": resident.name, "status": resident.get_status_display().removeprefix("已")},
            field="status",
        )


def _members_changed(*households: Household) -> None:
    """Tell listeners (the care plan's due dates) that who lives in these households, or their tags or
    birth dates, changed — inside the transaction, after the write."""
    signals.households_changed.send(sender=Household, household_ids={h.pk for h in households})


def ensure_id_number_free(id_number_hash: str | None, *, exclude_pk=None) -> None:
    """The same ID number is registered once in the whole system: the refusal names the existing
    record, masked, and where it is (a person moving in is moved, not registered twice)."""
    if not id_number_hash:
        return
    existing = (
        Resident.objects.filter(id_number_hash=id_number_hash)
        .exclude(pk=exclude_pk)
        .select_related("dwelling__building__grid__parent")
        .first()
    )
    if existing is not None:
        raise ApplicationError(duplicate_message(existing), field="id_number", code="id_number_taken")


def duplicate_message(existing: Resident) -> str:
    return _("该证件号码已登记：%(name)s，%(number)s，%(community)s（%(status)s）") % {
        "name": mask_name(existing.name),
        "number": existing.id_number_masked,
        "community": existing.dwelling.building.grid.parent.name,
        "status": existing.get_status_display(),
    }


def mask_name(name: str) -> str:
    """张* / 欧阳** : the surname and the length, as on public notices."""
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def _clean(actor, data: dict, *, partial: bool) -> dict:
    if not has_capability(actor, Capability.VIEW_SENSITIVE):
        for key in _SENSITIVE_FIELDS & set(data):
            raise ApplicationError(_("当前角色不能填写健康信息。"), field=key)
    values = clean_resident_fields(data, partial=partial)
    return {k: v for k, v in values.items() if k in _PROFILE_FIELDS}


def _dwelling_for_write(actor, dwelling) -> Dwelling:
    dwelling_id = dwelling.pk if isinstance(dwelling, Dwelling) else dwelling
    if dwelling_id in (None, ""):
        raise ApplicationError(_("请选择房屋。"), field="dwelling")
    found = places.dwellings_visible_to(actor).filter(pk=dwelling_id).select_related("building").first()
    if found is None:
        raise ApplicationError(_("房屋不存在或不在管辖范围内。"), field="dwelling")
    return found


@transaction.atomic
def household_create(*, actor, dwelling, number: str = "", request=None) -> Household:
    _require(actor, Capability.MANAGE_RESIDENTS)
    household = Household(dwelling=_dwelling_for_write(actor, dwelling), number=(number or "").strip()[:30])
    _save(household, actor=actor, action="household.create", request=request)
    return household


@transaction.atomic
def resident_create(
    *, actor, data: dict, household: Household | int | None = None, dwelling=None, occurred_on=None, request=None
) -> Resident:
    """Register a resident in an existing household, or with a dwelling in a new household of their own
    (then as its head). `occurred_on` is the move-in date (today when not given)."""
    _require(actor, Capability.MANAGE_RESIDENTS)
    values = _clean(actor, data, partial=False)
    if household not in (None, ""):
        household = selectors.access_household(actor, household.pk if isinstance(household, Household) else household)
        dwelling = household.dwelling
    else:
        dwelling = _dwelling_for_write(actor, dwelling)
        household = household_create(actor=actor, dwelling=dwelling, request=request)
        values["relation"] = Relation.HEAD
    ensure_id_number_free(values.get("id_number_hash"))
    date = parse_date(occurred_on, field="occurred_on", label=_("迁入日期")) or values.get("moved_in_on")
    resident = Resident(household=household, dwelling=dwelling, **values)
    resident.moved_in_on = date
    try:
        with transaction.atomic():
            _save(resident, actor=actor, action="resident.create", request=request)
    except IntegrityError:
        # Two desks registering the same person at once: the unique hash decides, the loser is told.
        ensure_id_number_free(values.get("id_number_hash"))
        raise
    ResidentEvent.objects.create(
        resident=resident,
        kind=EventKind.MOVED_IN if date else EventKind.REGISTERED,
        occurred_on=date or timezone.localdate(),
        dwelling=dwelling,
        actor=actor,
    )
    _reopen_if_dissolved(household, actor=actor, request=request)
    _members_changed(household)
    return resident


@transaction.atomic
def resident_update(*, actor, resident: Resident | int, data: dict, request=None) -> Resident:
    _require(actor, Capability.MANAGE_RESIDENTS)
    resident = selectors.access_resident(actor, resident.pk if isinstance(resident, Resident) else resident)
    _require_active(resident)
    identity = ("document_kind", "id_number", "birth_date", "sex")
    if any(key in data for key in identity):
        # The identity fields are cleaned together: what is not given keeps its stored value, except
        # that a new ID number brings its own birth date and sex (the old ones must not contradict it).
        stored = {key: getattr(resident, key) for key in identity}
        if "id_number" in data:
            stored["birth_date"] = stored["sex"] = None
        data = {**stored, **data}
    values = _clean(actor, data, partial=True)
    ensure_id_number_free(values.get("id_number_hash"), exclude_pk=resident.pk)
    changed = sorted(k for k, v in values.items() if getattr(resident, k) != v and not k.endswith(("_hash", "_pinyin")))
    if not changed:
        return resident
    for key, value in values.items():
        setattr(resident, key, value)
    _save(resident, actor=actor, action="resident.update", request=request, data={"fields": changed})
    _members_changed(resident.household)
    return resident


def _event(resident, kind, occurred_on, *, actor, dwelling=None, from_dwelling=None, destination="", note=""):
    return ResidentEvent.objects.create(
        resident=resident,
        kind=kind,
        occurred_on=occurred_on,
        dwelling=dwelling or resident.dwelling,
        from_dwelling=from_dwelling,
        destination=destination,
        note=(note or "").strip()[:500],
        actor=actor,
    )


def _event_date(raw, resident: Resident) -> datetime.date:
    date = parse_date(raw, field="occurred_on", label=_("日期"))
    if date is None:
        raise ApplicationError(_("请填写日期。"), field="occurred_on")
    # Registering is when the record was made, not when they came: it does not bound later dates.
    last = (
        resident.events.exclude(kind=EventKind.REGISTERED)
        .order_by("-occurred_on")
        .values_list("occurred_on", flat=True)
        .first()
    )
    if last and date < last:
        raise ApplicationError(
            _("日期不能早于上一次变动（%(date)s）。") % {"date": last.isoformat()}, field="occurred_on"
        )
    return date


def _reopen_if_dissolved(household: Household, *, actor, request=None) -> None:
    """Someone lives in the household again."""
    if household.dissolved_at is not None:
        household.dissolved_at = None
        _save(household, actor=actor, action="household.reopen", request=request, audit=False)


def _dissolve_if_empty(household: Household, *, actor, request=None) -> None:
    if not household.members.filter(status=ResidentStatus.ACTIVE).exists():
        household.dissolved_at = timezone.now()
        _save(household, actor=actor, action="household.dissolve", request=request, audit=False)


@transaction.atomic
def resident_move_out(
    *, actor, resident: Resident | int, occurred_on, destination: str, note: str = "", request=None
) -> Resident:
    """迁出: the record stays, on the dwelling left, with the date and where to."""
    _require(actor, Capability.MANAGE_RESIDENTS)
    resident = selectors.access_resident(actor, resident.pk if isinstance(resident, Resident) else resident)
    _require_active(resident)
    destination = (destination or "").strip()
    if not destination:
        raise ApplicationError(_("请填写迁往何处（不详可填“不详”）。"), field="destination")
    date = _event_date(occurred_on, resident)
    resident.status, resident.left_on, resident.left_to = ResidentStatus.MOVED_OUT, date, destination[:200]
    _save(resident, actor=actor, action="resident.move_out", request=request, data={"date": date.isoformat()})
    _event(resident, EventKind.MOVED_OUT, date, actor=actor, destination=destination[:200], note=note)
    _dissolve_if_empty(resident.household, actor=actor, request=request)
    _members_changed(resident.household)
    return resident


@transaction.atomic
def resident_decease(*, actor, resident: Resident | int, occurred_on, note: str = "", request=None) -> Resident:
    _require(actor, Capability.MANAGE_RESIDENTS)
    resident = selectors.access_resident(actor, resident.pk if isinstance(resident, Resident) else resident)
    _require_active(resident)
    date = _event_date(occurred_on, resident)
    resident.status, resident.left_on = ResidentStatus.DECEASED, date
    _save(resident, actor=actor, action="resident.decease", request=request, data={"date": date.isoformat()})
    _event(resident, EventKind.DECEASED, date, actor=actor, note=note)
    _dissolve_if_empty(resident.household, actor=actor, request=request)
    _members_changed(resident.household)
    return resident


@transaction.atomic
def resident_change_dwelling(
    *, actor, resident: Resident | int, occurred_on, dwelling=None, household=None, note: str = "", request=None
) -> Resident:
    """换房 within what the actor looks after: into another household (joining it) or into a dwelling
    (a new household of their own, as its head)."""
    _require(actor, Capability.MANAGE_RESIDENTS)
    resident = selectors.access_resident(actor, resident.pk if isinstance(resident, Resident) else resident)
    _require_active(resident)
    date = _event_date(occurred_on, resident)
    old_household, old_dwelling = resident.household, resident.dwelling
    if household not in (None, ""):
        target = selectors.access_household(actor, household.pk if isinstance(household, Household) else household)
        if target.pk == old_household.pk:
            raise ApplicationError(_("已在该户。"), field="household")
    else:
        new_dwelling = _dwelling_for_write(actor, dwelling)
        target = household_create(actor=actor, dwelling=new_dwelling, request=request)
        resident.relation = Relation.HEAD
    resident.household, resident.dwelling = target, target.dwelling
    _reopen_if_dissolved(target, actor=actor, request=request)
    _save(resident, actor=actor, action="resident.change_dwelling", request=request, data={"date": date.isoformat()})
    _event(
        resident,
        EventKind.DWELLING_CHANGED,
        date,
        actor=actor,
        dwelling=target.dwelling,
        from_dwelling=old_dwelling,
        note=note,
    )
    _dissolve_if_empty(old_household, actor=actor, request=request)
    _members_changed(old_household, target)
    return resident


@transaction.atomic
def resident_return(*, actor, resident: Resident | int, occurred_on, note: str = "", request=None) -> Resident:
    """回迁: a moved-out resident comes back to the household they left."""
    _require(actor, Capability.MANAGE_RESIDENTS)
    resident = selectors.access_resident(actor, resident.pk if isinstance(resident, Resident) else resident)
    if resident.status != ResidentStatus.MOVED_OUT:
        raise ApplicationError(_("只有已迁出的居民可以登记回迁。"), field="status")
    date = _event_date(occurred_on, resident)
    resident.status, resident.left_on, resident.left_to = ResidentStatus.ACTIVE, None, ""
    resident.moved_in_on = date
    _save(resident, actor=actor, action="resident.return", request=request, data={"date": date.isoformat()})
    _event(resident, EventKind.RETURNED, date, actor=actor, note=note)
    household = resident.household
    _reopen_if_dissolved(household, actor=actor, request=request)
    _members_changed(household)
    return resident


# Tags -------------------------------------------------------------------------------------------


def _tag_for_resident(actor, resident: Resident, tag_id) -> Tag:
    tag = selectors.tags_visible_to(actor).filter(pk=tag_id).first()
    if tag is None or (tag.community_id and tag.community_id != resident.dwelling.building.grid.parent_id):
        raise ApplicationError(_("标签不存在。"), field="tags")
    if tag.is_age_tag:
        raise ApplicationError(_("“%(tag)s”按出生日期自动判定，无需手工添加。") % {"tag": tag.name}, field="tags")
    if tag.sensitive and not has_capability(actor, Capability.VIEW_SENSITIVE):
        raise ApplicationError(_("当前角色不能设置“%(tag)s”。") % {"tag": tag.name}, field="tags")
    return tag


@transaction.atomic
def resident_set_tags(*, actor, resident: Resident | int, tags: list[dict], request=None) -> Resident:
    """Replace the resident's hand-set tags with `tags` ([{"tag": id, "grade": 1–4, "detail": "肢体"}]).
    Sensitive tags the actor may not see are left as they are."""
    _require(actor, Capability.MANAGE_RESIDENTS)
    resident = selectors.access_resident(actor, resident.pk if isinstance(resident, Resident) else resident)
    _require_active(resident)
    wanted: dict[int, tuple[int | None, str]] = {}
    for item in tags:
        tag = _tag_for_resident(actor, resident, item.get("tag"))
        grade = item.get("grade")
        if grade in ("", None):
            grade = None
        elif not tag.has_grade:
            raise ApplicationError(_("“%(tag)s”不分等级。") % {"tag": tag.name}, field="tags")
        else:
            try:
                grade = int(grade)
            except (TypeError, ValueError):
                grade = 0
            if not 1 <= grade <= 4:
                raise ApplicationError(_("“%(tag)s”的等级应为 1–4 级。") % {"tag": tag.name}, field="tags")
        wanted[tag.pk] = (grade, str(item.get("detail") or "").strip()[:50])
    hidden_sensitive = not has_capability(actor, Capability.VIEW_SENSITIVE)
    before = []
    for link in resident.tag_links.select_related("tag"):
        if hidden_sensitive and link.tag.sensitive:
            continue
        before.append(link.tag.name)
        if link.tag_id not in wanted:
            link._history_user = actor
            link.delete()
        elif (link.grade, link.detail) != wanted[link.tag_id]:
            link.grade, link.detail = wanted[link.tag_id]
            link._history_user = actor
            link.save()
    existing = set(resident.tag_links.values_list("tag_id", flat=True))
    for tag_id, (grade, detail) in wanted.items():
        if tag_id not in existing:
            link = ResidentTag(resident=resident, tag_id=tag_id, grade=grade, detail=detail)
            link._history_user = actor
            link.save()
    audit_record(
        action="resident.set_tags", actor=actor, target=resident, request=request, data={"before": sorted(before)}
    )
    _members_changed(resident.household)
    return resident


def _community_for_tags(actor, community) -> Area | None:
    if community in (None, ""):
        if not has_capability(actor, Capability.MANAGE_TAGS) or actor.role != "district_staff":
            raise ApplicationError(_("请选择社区。"), field="community")
        return None
    area = places.access_area(actor, community.pk if isinstance(community, Area) else community)
    if area.level != AreaLevel.COMMUNITY:
        raise ApplicationError(_("标签只能属于社区。"), field="community")
    return area


def _clean_tag_fields(name, min_age) -> tuple[str, int | None]:
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("此项为必填项。"), field="name")
    if len(name) > 30:
        raise ApplicationError(_("不能超过 %(n)d 个字符。") % {"n": 30}, field="name")
    if min_age in (None, ""):
        return name, None
    try:
        age = int(min_age)
    except (TypeError, ValueError):
        age = -1
    if not 0 < age < 130:
        raise ApplicationError(_("年龄下限应在 1–129 岁之间。"), field="min_age")
    return name, age


@transaction.atomic
def tag_create(
    *,
    actor,
    community=None,
    name: str,
    min_age=None,
    has_grade=False,
    sensitive=False,
    request=None,
) -> Tag:
    """A community's own tag (a district's shipped default when `community` is None, district staff only)."""
    _require(actor, Capability.MANAGE_TAGS)
    area = _community_for_tags(actor, community)
    name, age = _clean_tag_fields(name, min_age)
    duplicate = Tag.objects.active().filter(name=name).filter(community__isnull=True)
    if area is not None:
        duplicate = duplicate | Tag.objects.active().filter(name=name, community=area)
    if duplicate.exists():
        raise ApplicationError(_("标签“%(name)s”已存在。") % {"name": name}, field="name")
    tag = Tag(
        community=area,
        name=name,
        min_age=age,
        has_grade=clean_flag(has_grade, field="has_grade", label=_("分等级")),
        sensitive=clean_flag(sensitive, field="sensitive", label=_("敏感信息")),
    )
    _save(tag, actor=actor, action="tag.create", request=request)
    return tag


@transaction.atomic
def tag_retire(*, actor, tag: Tag | int, request=None) -> Tag:
    """停用 a community's own tag: residents keep the history, the tag is no longer offered or shown."""
    _require(actor, Capability.MANAGE_TAGS)
    tag = selectors.access_tag(actor, tag.pk if isinstance(tag, Tag) else tag)
    if tag.community_id is None and actor.role != "district_staff":
        raise PermissionDenied(_("系统默认标签不能由社区停用。"))
    if tag.retired_at is None:
        tag.retired_at = timezone.now()
        _save(tag, actor=actor, action="tag.retire", request=request)
        # Its care rules stop applying wherever the tag was offered.
        signals.communities_changed.send(sender=Tag, community_ids=[tag.community_id] if tag.community_id else None)
    return tag


@transaction.atomic
def tag_set_threshold(*, actor, community, tag: Tag | int, min_age, request=None) -> TagThreshold | None:
    """A community's own age for an age tag (高龄 from 70); an empty age returns to the default."""
    _require(actor, Capability.MANAGE_TAGS)
    area = _community_for_tags(actor, community)
    tag = selectors.access_tag(actor, tag.pk if isinstance(tag, Tag) else tag)
    if not tag.is_age_tag:
        raise ApplicationError(_("“%(tag)s”不是按年龄判定的标签。") % {"tag": tag.name}, field="tag")
    age = _clean_tag_fields(tag.name, min_age)[1]
    current = TagThreshold.objects.filter(community=area, tag=tag).first()
    if age is None:
        if current is not None:
            current._history_user = actor
            current.delete()
        audit_record(action="tag.threshold", actor=actor, target=tag, request=request, data={"min_age": None})
        signals.communities_changed.send(sender=Tag, community_ids=[area.pk])
        return None
    threshold = current or TagThreshold(community=area, tag=tag, min_age=age)
    threshold.min_age = age
    threshold._history_user = actor
    threshold.save()
    audit_record(
        action="tag.threshold", actor=actor, target=tag, area_path=area.path, request=request, data={"min_age": age}
    )
    signals.communities_changed.send(sender=Tag, community_ids=[area.pk])
    return threshold


# Personal information ---------------------------------------------------------------------------


def resident_reveal(*, actor, resident: Resident | int, field: str, reason: str, request=None) -> str:
    """One full value of one record, for a stated reason, written to the audit log (who, whose, when,
    why) before it is returned. The audit entry is the whole point: it commits on its own."""
    _require(actor, Capability.REVEAL_PII)
    resident = selectors.access_resident(actor, resident.pk if isinstance(resident, Resident) else resident)
    if field not in REVEALABLE_FIELDS:
        raise ApplicationError(_("只能查看证件号码或联系电话。"), field="field")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ApplicationError(_("请填写查看原因。"), field="reason")
    with transaction.atomic():
        audit_record(
            action="resident.reveal",
            actor=actor,
            target=resident,
            request=request,
            data={"field": field, "reason": reason[:200]},
        )
    return getattr(resident, field)
