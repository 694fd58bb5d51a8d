"""Writes of visits and care plans, each in one transaction with its audit entry.

`visit_log` is idempotent per worker: a phone that lost its connection after the server saved the
visit sends the same draft again with the same key, and gets the first visit back — nothing new is
written. Two submissions racing each other are settled by the unique (worker, key) constraint: the
loser's insert fails inside a savepoint and it returns the winner's row (its photos, checked in memory,
are dropped with it: nothing of the loser reaches the disk)."""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Capability, Role, has_capability
from minqing.areas import selectors as places
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.photos import photo_save, prepare_photos
from minqing.registry import selectors as registry
from minqing.registry.models import Household, Relation, Resident, ResidentStatus
from minqing.tickets import services as tickets
from minqing.tickets.models import Channel, Ticket, TicketAttachment
from minqing.visits import due, selectors
from minqing.visits.models import CarePlanRule, Flag, Purpose, Responsible, Visit, VisitPhoto

# Readings a hand-held thermometer or cuff can give a living person; anything outside is a typing
# mistake and refused. Inside, the values a worker should act on are flagged.
TEMPERATURE_MIN, TEMPERATURE_MAX = Decimal("30.0"), Decimal("45.0")
FEVER_FROM = Decimal("37.3")  # 发热: axillary ≥ 37.3 ℃ (国家卫健委 standard)
LOW_TEMPERATURE_BELOW = Decimal("35.0")  # hypothermia
SYSTOLIC_MIN, SYSTOLIC_MAX = 60, 260
DIASTOLIC_MIN, DIASTOLIC_MAX = 30, 160
# 中国高血压防治指南 (2018): hypertension at ≥ 140 systolic or ≥ 90 diastolic; hypotension at
# ≤ 90 / ≤ 60.
HIGH_SYSTOLIC, HIGH_DIASTOLIC = 140, 90
LOW_SYSTOLIC, LOW_DIASTOLIC = 90, 60

# A phone may send a visit made offline days ago, but not one "made" next week, nor one so old it
# would rewrite the care plan's history.
CLOCK_SKEW = datetime.timedelta(minutes=2)
MAX_BACKDATE = datetime.timedelta(days=30)
NOTE_MAX = 5000
_KEY = re.compile(r"[A-Za-z0-9_\-]{8,64}")


def _decimal(raw, field: str) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ApplicationError(_("请填写数字。"), field=field) from None
    if not value.is_finite():
        raise ApplicationError(_("请填写数字。"), field=field)
    return value


def _int(raw, field: str) -> int | None:
    value = _decimal(raw, field)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise ApplicationError(_("请填写整数。"), field=field)
    return int(value)


def check_readings(*, temperature=None, systolic=None, diastolic=None) -> tuple[dict, list[str]]:
    """The readings as stored, and their flags; an impossible value is refused naming its field."""
    temp = _decimal(temperature, "temperature")
    if temp is not None:
        # The range first: quantizing an absurd value (1E+1000) would raise instead of naming the field.
        if not temp.is_finite() or not TEMPERATURE_MIN <= temp <= TEMPERATURE_MAX:
            raise ApplicationError(
                _("体温应在 %(min)s–%(max)s ℃ 之间，请核对。") % {"min": TEMPERATURE_MIN, "max": TEMPERATURE_MAX},
                field="temperature",
            )
        temp = temp.quantize(Decimal("0.1"))
    sys_, dia = _int(systolic, "systolic"), _int(diastolic, "diastolic")
    if (sys_ is None) != (dia is None):
        raise ApplicationError(_("血压须同时填写收缩压和舒张压。"), field="systolic" if sys_ is None else "diastolic")
    if sys_ is not None:
        if not SYSTOLIC_MIN <= sys_ <= SYSTOLIC_MAX:
            raise ApplicationError(
                _("收缩压应在 %(min)d–%(max)d mmHg 之间，请核对。") % {"min": SYSTOLIC_MIN, "max": SYSTOLIC_MAX},
                field="systolic",
            )
        if not DIASTOLIC_MIN <= dia <= DIASTOLIC_MAX:
            raise ApplicationError(
                _("舒张压应在 %(min)d–%(max)d mmHg 之间，请核对。") % {"min": DIASTOLIC_MIN, "max": DIASTOLIC_MAX},
                field="diastolic",
            )
        if dia >= sys_:
            raise ApplicationError(_("舒张压应低于收缩压，请核对（是否填反了）。"), field="diastolic")
    flags = []
    if temp is not None and temp >= FEVER_FROM:
        flags.append(Flag.FEVER.value)
    if temp is not None and temp < LOW_TEMPERATURE_BELOW:
        flags.append(Flag.LOW_TEMPERATURE.value)
    if sys_ is not None and (sys_ >= HIGH_SYSTOLIC or dia >= HIGH_DIASTOLIC):
        flags.append(Flag.HIGH_BLOOD_PRESSURE.value)
    if sys_ is not None and (sys_ <= LOW_SYSTOLIC or dia <= LOW_DIASTOLIC):
        flags.append(Flag.LOW_BLOOD_PRESSURE.value)
    return {"temperature": temp, "systolic": sys_, "diastolic": dia}, flags


def _visited_at(raw, now) -> datetime.datetime:
    if raw in (None, ""):
        return now
    if isinstance(raw, str):
        try:
            raw = datetime.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ApplicationError(_("走访时间格式不正确。"), field="visited_at") from None
    if not isinstance(raw, datetime.datetime):
        raise ApplicationError(_("走访时间格式不正确。"), field="visited_at")
    if timezone.is_naive(raw):
        raw = timezone.make_aware(raw)
    if raw > now + CLOCK_SKEW:
        raise ApplicationError(_("走访时间不能晚于现在。"), field="visited_at")
    if raw < now - MAX_BACKDATE:
        raise ApplicationError(_("走访时间不能早于 %(days)d 天前。") % {"days": MAX_BACKDATE.days}, field="visited_at")
    return raw


def _pk(value):
    return value.pk if hasattr(value, "pk") else value


def _household(actor, household) -> Household:
    if not has_capability(actor, Capability.VIEW_RESIDENTS):
        raise PermissionDenied()
    if household in (None, ""):
        raise ApplicationError(_("请选择走访的住户。"), field="household")
    try:
        return registry.access_household(actor, _pk(household))
    except ApplicationError as exc:
        exc.field = "household"
        raise


def _members(household: Household, ids, field: str) -> list[Resident]:
    ids = {int(i) for i in ids if str(i).strip().isdigit()} if ids else set()
    if not ids:
        return []
    found = list(Resident.objects.filter(household=household, status=ResidentStatus.ACTIVE, pk__in=ids))
    if len(found) != len(ids):
        raise ApplicationError(_("所选人员不是本户在册成员。"), field=field)
    return found


def _clean_key(raw) -> str | None:
    key = (raw or "").strip() if isinstance(raw, str) else raw
    if key in (None, ""):
        return None
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ApplicationError(_("幂等键须为 8–64 位字母、数字、- 或 _。"), field="idempotency_key")
    return key


def _replay(actor, key: str | None) -> Visit | None:
    if key is None:
        return None
    visit = Visit.objects.filter(worker=actor, idempotency_key=key).first()
    if visit is not None:
        visit.replayed = True
    return visit


@transaction.atomic
def visit_log(
    *,
    actor,
    household,
    purpose: str = Purpose.ROUTINE,
    note: str = "",
    resident=None,
    met=(),
    visited_at=None,
    temperature=None,
    systolic=None,
    diastolic=None,
    idempotency_key: str | None = None,
    photos=(),
    demand: dict | None = None,
    request=None,
) -> Visit:
    """Record a visit to a household in the actor's scope (the actor is the worker). `met` are ids of
    the household's active members; `photos` uploaded files (at most six, all checked before anything
    is written); `demand` ({"category", "description", "urgency"}) turns the finding into a demand,
    with the photos, in the same transaction. The returned visit has `replayed` True when the
    key had been seen: it is the first visit, and nothing was written."""
    home = _household(actor, household)
    key = _clean_key(idempotency_key)
    if (earlier := _replay(actor, key)) is not None:
        return earlier
    if purpose not in Purpose.values:
        raise ApplicationError(_("走访事由无效。"), field="purpose")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ApplicationError(_("走访情况不能超过 %(n)d 字。") % {"n": NOTE_MAX}, field="note")
    subject = _members(home, [_pk(resident)] if resident not in (None, "") else [], "resident")
    people = _members(home, [_pk(m) for m in met or ()], "met")
    readings, flags = check_readings(temperature=temperature, systolic=systolic, diastolic=diastolic)
    prepared = prepare_photos(photos, too_many=_("每次走访最多 %(max)d 张照片。"))
    now = timezone.now()
    visit = Visit(
        household=home,
        resident=subject[0] if subject else None,
        visited_at=_visited_at(visited_at, now),
        worker=actor,
        purpose=purpose,
        note=note,
        flags=flags,
        idempotency_key=key,
        **readings,
    )
    try:
        with transaction.atomic():  # a savepoint: the race's loser carries on in a sound transaction
            visit.save()
    except IntegrityError:
        earlier = _replay(actor, key)
        if earlier is None:
            raise
        return earlier
    visit.replayed = False
    due.household_due_visit(home.pk, visit.visited_at)
    if people:
        visit.met.set(people)
    for photo in prepared:
        photo_save(VisitPhoto(visit=visit), photo)
    audit_record(
        action="visit.log",
        actor=actor,
        target=visit,
        request=request,
        data={"purpose": purpose, "household": home.pk, "flags": flags, "photos": len(prepared)},
    )
    if demand:
        visit_to_demand(actor=actor, visit=visit, request=request, **demand)
    return visit


def _reporter(visit: Visit) -> Resident | None:
    """Who the demand is from: the person the visit was for, else the first met, else the head."""
    if visit.resident_id:
        return visit.resident
    met = list(visit.met.order_by("pk")[:1])
    if met:
        return met[0]
    members = Resident.objects.filter(household_id=visit.household_id, status=ResidentStatus.ACTIVE)
    return members.filter(relation=Relation.HEAD).order_by("pk").first() or members.order_by("pk").first()


@transaction.atomic
def visit_to_demand(
    *, actor, visit: Visit, category, description: str = "", urgency: str = "normal", request=None
) -> Ticket:
    """Turn a visit's finding into a demand (channel 走访), with the household's dwelling as the place
    and the household's person as reporter, and link both ways: the visit names the demand, the
    demand lists the visit (`ticket.visits`). The visit's photos become the demand's intake photos:
    rows naming the same files, already checked and re-encoded (files are never deleted: visits and
    demands are kept). Once per visit."""
    locked = selectors.visits_visible_to(actor).filter(pk=_pk(visit)).values_list("pk", flat=True).first()
    if locked is None:
        raise NotFound()
    # The row alone: PostgreSQL cannot lock through the nullable join to the resident.
    visit = Visit.objects.select_for_update().get(pk=locked)
    if visit.ticket_id:
        raise ApplicationError(_("该走访已转为诉求 %(n)s。") % {"n": visit.ticket.number}, field="ticket")
    text = (description or "").strip() or visit.note
    if not text:
        raise ApplicationError(_("请填写诉求内容。"), field="description")
    ticket = tickets.ticket_create(
        actor=actor,
        category=category,
        channel=Channel.VISIT,
        description=text,
        urgency=urgency or "normal",
        received_at=visit.visited_at,
        dwelling=visit.household.dwelling_id,
        reporter_resident=_reporter(visit),
        request=request,
    )
    photos = list(visit.photos.all())
    intake = ticket.events.get(action="register") if photos else None  # where intake photos show
    TicketAttachment.objects.bulk_create(
        TicketAttachment(
            ticket=ticket,
            event=intake,
            image=p.image.name,
            thumbnail=p.thumbnail.name,
            content_type=p.content_type,
            size=p.size,
            width=p.width,
            height=p.height,
            original_name=p.original_name,
            uploaded_by_id=visit.worker_id,
        )
        for p in photos
    )
    visit.ticket = ticket
    visit.save(update_fields=["ticket"])
    audit_record(action="visit.to_demand", actor=actor, target=visit, request=request, data={"ticket": ticket.number})
    return ticket


def _care_rule_target(actor, community, tag):
    """The community (None: the shipped defaults) and tag (None: every household) of a rule the actor
    may change; another community reads as missing (404), a role that may not change rules is 403."""
    if not has_capability(actor, Capability.MANAGE_TAGS):
        raise PermissionDenied()
    area = None
    if community not in (None, ""):
        area = places.access_area(actor, _pk(community))
        if area.level != "community":
            raise ApplicationError(_("请选择社区。"), field="community")
    elif actor.role != Role.DISTRICT_STAFF:
        raise PermissionDenied(_("只有区级可以修改默认走访计划。"))
    tag_obj = None
    if tag not in (None, ""):
        tag_obj = registry.tags_visible_to(actor).filter(pk=_pk(tag)).first()
        if tag_obj is None or (tag_obj.community_id not in (None, area.pk if area else None)):
            raise ApplicationError(_("标签不存在。"), field="tag")
    return area, tag_obj


def _care_rule_audit(action: str, *, actor, rule, area, tag_obj, before: dict, request, **data) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=rule,
        target_label=str(rule),
        area_path=area.path if area else (actor.area.path if actor.area_id else ""),
        request=request,
        # The community is kept so that the rules page can show its own history.
        data={"community": area.pk if area else None, "tag": tag_obj.name if tag_obj else None, "before": before}
        | data,
    )


def _rules_changed(area) -> None:
    """The kept due dates of the community (of every community for a shipped default) are counted again."""
    due.community_due_forget([area.pk] if area else None)


@transaction.atomic
def care_rule_set(*, actor, community, tag, interval_days, responsible: str, request=None) -> CarePlanRule:
    """Set how often households of `community` with `tag` (None: every household) must be seen. A
    community's own rule overrides the shipped default for that tag; `community` None changes the
    shipped default itself (district staff only). Setting what is already there writes nothing."""
    area, tag_obj = _care_rule_target(actor, community, tag)
    days = _int(interval_days, "interval_days")
    if days is None or not 1 <= days <= 366:
        raise ApplicationError(_("走访周期应为 1–366 天。"), field="interval_days")
    if responsible not in Responsible.values:
        raise ApplicationError(_("请选择负责人。"), field="responsible")
    rule = CarePlanRule.objects.select_for_update().filter(community=area, tag=tag_obj).first()
    if rule is None:
        rule = CarePlanRule(community=area, tag=tag_obj)
    elif (rule.interval_days, rule.responsible) == (days, responsible):
        return rule  # a form sent again: no change, no audit line saying there was one
    before = {"interval_days": rule.interval_days, "responsible": rule.responsible} if rule.pk else {}
    rule.interval_days, rule.responsible = days, responsible
    rule.save()
    _rules_changed(area)
    _care_rule_audit(
        "visit.care_rule_set",
        actor=actor,
        rule=rule,
        area=area,
        tag_obj=tag_obj,
        before=before,
        request=request,
        interval_days=days,
        responsible=responsible,
    )
    return rule


@transaction.atomic
def care_rule_reset(*, actor, community, tag, request=None) -> None:
    """Drop a community's own rule for `tag` (None: every household): the shipped default applies
    there again (or, for a tag with no default, the tag sets no rule)."""
    if community in (None, ""):
        raise ApplicationError(_("默认走访计划不能恢复，只能修改。"), field="community")
    area, tag_obj = _care_rule_target(actor, community, tag)
    rule = CarePlanRule.objects.select_for_update().filter(community=area, tag=tag_obj).first()
    if rule is None:
        raise ApplicationError(_("本社区没有自定的走访计划。"), field="tag")
    before = {"interval_days": rule.interval_days, "responsible": rule.responsible}
    pk = rule.pk
    rule.delete()
    _rules_changed(area)
    rule.pk = pk  # the audit line names the row that was dropped
    _care_rule_audit(
        "visit.care_rule_reset", actor=actor, rule=rule, area=area, tag_obj=tag_obj, before=before, request=request
    )
