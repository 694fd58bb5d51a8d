"""Reads of the registry, always through the scope in accounts/scope.py. What a reader may not see
is not found; what they may see but not read in full (ID numbers, phones) is masked by the model's
`*_masked` properties, and sensitive tags are left out for roles without VIEW_SENSITIVE."""

import datetime
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Left, Lower
from django.utils import timezone
from pypinyin import Style, pinyin

from minqing.accounts import scope
from minqing.accounts.models import User
from minqing.accounts.roles import Capability, Role, has_capability
from minqing.areas import selectors as places
from minqing.areas.models import Area, Dwelling
from minqing.core import history
from minqing.core.errors import NotFound
from minqing.core.pii import pii_hash
from minqing.registry.idnumbers import IdNumberError, parse_id_number
from minqing.registry.models import (
    EventKind,
    Household,
    LedgerImport,
    Relation,
    Resident,
    ResidentEvent,
    ResidentStatus,
    ResidentTag,
    Tag,
    TagThreshold,
)
from minqing.registry.phones import PhoneError, normalise_phone


def residents_visible_to(user) -> QuerySet[Resident]:
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        return Resident.objects.none()
    return Resident.objects.filter(scope.resident_q(user))


def households_visible_to(user) -> QuerySet[Household]:
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        return Household.objects.none()
    return Household.objects.filter(scope.household_q(user))


def tags_visible_to(user, *, include_retired: bool = False) -> QuerySet[Tag]:
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        return Tag.objects.none()
    qs = Tag.objects.all() if include_retired else Tag.objects.active()
    qs = qs.filter(scope.tag_q(user))
    if not has_capability(user, Capability.VIEW_SENSITIVE):
        qs = qs.filter(sensitive=False)
    return qs


def ledger_imports_visible_to(user) -> QuerySet[LedgerImport]:
    if not has_capability(user, Capability.IMPORT_RESIDENTS):
        return LedgerImport.objects.none()
    return LedgerImport.objects.filter(scope.ledger_import_q(user))


def _access(qs: QuerySet, pk):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def access_resident(user, pk) -> Resident:
    return _access(residents_visible_to(user).select_related("household", "dwelling__building__grid"), pk)


def access_household(user, pk) -> Household:
    return _access(households_visible_to(user).select_related("dwelling__building__grid"), pk)


def access_tag(user, pk) -> Tag:
    return _access(tags_visible_to(user, include_retired=True), pk)


def access_ledger_import(user, pk) -> LedgerImport:
    return _access(ledger_imports_visible_to(user).select_related("community", "created_by"), pk)


# Tags as a reader sees them ---------------------------------------------------------------------


@dataclass(frozen=True)
class ShownTag:
    name: str
    tag_id: int
    automatic: bool = False  # follows from the birth date
    sensitive: bool = False


def age_thresholds(community_ids) -> dict[int | None, list[tuple[Tag, int]]]:
    """Per community (and None for the defaults): each age tag with the age it starts at there."""
    tags = list(Tag.objects.active().filter(min_age__isnull=False))
    overrides = defaultdict(dict)
    for t in TagThreshold.objects.filter(community_id__in=set(community_ids), tag__in=tags):
        overrides[t.community_id][t.tag_id] = t.min_age
    result = {None: [(t, t.min_age) for t in tags if t.community_id is None]}
    for community_id in set(community_ids):
        result[community_id] = [
            (t, overrides[community_id].get(t.pk, t.min_age)) for t in tags if t.community_id in (None, community_id)
        ]
    return result


def attach_tags(viewer, residents: list[Resident], *, today: datetime.date | None = None) -> list[Resident]:
    """Sets `shown_tags` on each resident: their hand-set tags (sensitive ones only for roles that may
    see them) and the age tags their birth date gives in their community. Two queries for any number
    of residents; the residents need `dwelling__building__grid` loaded."""
    today = today or timezone.localdate()
    see_sensitive = has_capability(viewer, Capability.VIEW_SENSITIVE)
    links = defaultdict(list)
    for link in (
        ResidentTag.objects.filter(resident__in=[r.pk for r in residents], tag__retired_at__isnull=True)
        .select_related("tag")
        .order_by("tag__order", "tag_id")
    ):
        if link.tag.sensitive and not see_sensitive:
            continue
        links[link.resident_id].append(ShownTag(name=str(link), tag_id=link.tag_id, sensitive=link.tag.sensitive))
    communities = {r.dwelling.building.grid.parent_id for r in residents}
    thresholds = age_thresholds(communities)
    for r in residents:
        shown = list(links[r.pk])
        age = r.age_on(today)
        if age is not None and r.is_active:
            for tag, min_age in thresholds.get(r.dwelling.building.grid.parent_id, []):
                if age >= min_age:
                    shown.append(ShownTag(name=tag.name, tag_id=tag.pk, automatic=True))
        r.shown_tags = shown
    return residents


def _birth_cutoff(today: datetime.date, years: int) -> datetime.date:
    """The same day `years` ago (28 February for a 29 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _age_tag_q(tag: Tag, today: datetime.date, prefix: str = "") -> Q:
    """Residents an age tag applies to, honouring each community's own threshold."""

    def born_by(age: int) -> Q:
        return Q(**{f"{prefix}birth_date__lte": _birth_cutoff(today, age)})

    grid_parent = f"{prefix}dwelling__building__grid__parent_id"
    overrides = list(TagThreshold.objects.filter(tag=tag).values_list("community_id", "min_age"))
    q = born_by(tag.min_age) & ~Q(**{f"{grid_parent}__in": [c for c, _ in overrides]})
    for community_id, age in overrides:
        q |= born_by(age) & Q(**{grid_parent: community_id})
    if tag.community_id:
        q &= Q(**{grid_parent: tag.community_id})
    return q & Q(**{f"{prefix}status": ResidentStatus.ACTIVE})


# Search -----------------------------------------------------------------------------------------

_LATIN = re.compile(r"[a-z]+")
_ID_LIKE = re.compile(r"[0-9]{15}|[0-9]{17}[0-9X]")
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9\- ]{6,16}")


@dataclass
class ResidentFilters:
    q: str = ""
    id_number: str = ""
    phone: str = ""
    tag: int | None = None
    grid: int | None = None
    estate: int | None = None
    building: int | None = None
    dwelling: int | None = None
    age_min: int | None = None
    age_max: int | None = None
    registration_type: str = ""
    status: str = ResidentStatus.ACTIVE  # "" for all
    errors: dict[str, str] = field(default_factory=dict)


def _id_hash(text: str) -> str | None:
    try:
        return pii_hash(parse_id_number(text).number, "id_number")
    except IdNumberError:
        # Not a valid citizen ID: still look for it as typed (a passport number, say).
        return pii_hash(text, "id_number")


def _phone_hash(text: str) -> str | None:
    try:
        return pii_hash(normalise_phone(text), "phone")
    except PhoneError:
        return pii_hash(text, "phone")


# At a million residents a list ordered by pinyin must not read every name starting with 王 to find
# its first 20 (nor walk the whole pinyin index from "a" looking for them): a name-prefix search also
# says which pinyin its hits start with, as a range the pinyin index answers in order. The condition
# is implied by the prefix (it is only added when every typed character has a single reading), so it
# never drops a hit; bench/RESULTS.md has the figures.
_MAX_READINGS = 16
_NEVER_INITIAL = re.compile(r"[iuv]")


def _pinyin_starts(text: str) -> list[str]:
    """Every way the pinyin of a name starting with `text` can start (all readings of each
    character, 曾 → ceng / zeng), as long as there are few; [] when a character has no reading."""
    starts = [""]
    for char in text:
        readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
        options = {re.sub(r"[^a-z]", "", r.lower()) for r in (readings[0] if readings else [])} - {""}
        if not options:
            break  # a character with no pinyin (·, a rare one): what came before still holds
        extended = [s + o for s in starts for o in options]
        if len(extended) > _MAX_READINGS:
            break
        starts = extended
    return [s for s in starts if s]


def _pinyin_range(starts: list[str]) -> Q:
    # Used with one start only: an index scan in pinyin order can begin there. Several readings
    # (朱 zhu / shu) would make it a wide range or an OR, neither of which the index answers in order.
    low, high = min(starts), max(starts)
    return Q(name_pinyin__gte=low, name_pinyin__lt=high[:-1] + chr(ord(high[-1]) + 1))


SEARCH_COUNT_CAP = 1000


def search_residents(viewer, filters: ResidentFilters, *, today: datetime.date | None = None) -> QuerySet[Resident]:
    """Residents in the viewer's scope matching every filter given. `q` is read as what it looks like:
    an ID number or a phone (exact, through the keyed hash), Latin letters (the start of the name's
    pinyin or of its initials: "zj" and "zhangj" find 张杰), else the start of the name."""
    today = today or timezone.localdate()
    qs = residents_visible_to(viewer)
    text = unicodedata.normalize("NFKC", filters.q or "").strip()
    compact = re.sub(r"\s+", "", text)
    order = ("name_pinyin", "pk")
    if compact:
        upper = compact.upper()
        if _ID_LIKE.fullmatch(upper):
            qs = qs.filter(id_number_hash=_id_hash(upper))
        elif _PHONE_LIKE.fullmatch(compact) and sum(c.isdigit() for c in compact) >= 7:
            qs = qs.filter(phone_hash=_phone_hash(compact))
        elif _LATIN.fullmatch(compact.lower()):
            low = compact.lower()
            if _NEVER_INITIAL.search(low):
                # No syllable starts with i, u or ü: "zhangwei" can only be the start of a pinyin.
                qs = qs.filter(name_pinyin__startswith=low).filter(_pinyin_range([low]))
            else:
                qs = qs.filter(Q(name_initials__startswith=low) | Q(name_pinyin__startswith=low))
                # Both kinds of hit have a pinyin starting with the first letter typed: said as a
                # range, it lets the database read the pinyin index in the list's order.
                qs = qs.filter(_pinyin_range([low[0]]))
        else:
            if len(text) == 1:
                # A surname: the (first character, pinyin) index gives its hits in list order. The
                # same test as startswith, said once (said twice, the planner thinks it rare).
                qs = qs.alias(name_first=Left("name", 1)).filter(name_first=text)
            else:
                qs = qs.filter(name__startswith=text)
                starts = _pinyin_starts(text)
                if len(starts) == 1:
                    qs = qs.filter(_pinyin_range(starts))
                else:
                    # 其其格 (qi/ji …): no one range. The same order, said so that no index offers
                    # it: the few hits of a full name are found by the name and sorted, instead of
                    # walking the pinyin index from "a" in search of them.
                    order = (Lower("name_pinyin"), "pk")
    if filters.id_number:
        qs = qs.filter(id_number_hash=_id_hash(unicodedata.normalize("NFKC", filters.id_number).strip().upper()))
    if filters.phone:
        qs = qs.filter(phone_hash=_phone_hash(filters.phone))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.registration_type:
        qs = qs.filter(registration_type=filters.registration_type)
    if filters.grid:
        qs = qs.filter(dwelling__building__grid_id=filters.grid)
    if filters.estate:
        qs = qs.filter(dwelling__building__estate_id=filters.estate)
    if filters.building:
        qs = qs.filter(dwelling__building_id=filters.building)
    if filters.dwelling:
        qs = qs.filter(dwelling_id=filters.dwelling)
    if filters.age_min is not None:
        qs = qs.filter(birth_date__lte=_birth_cutoff(today, filters.age_min))
    if filters.age_max is not None:
        # Younger than age_max + 1 on today's date.
        qs = qs.filter(birth_date__gt=_birth_cutoff(today, filters.age_max + 1))
    if filters.tag:
        tag = tags_visible_to(viewer).filter(pk=filters.tag).first()
        if tag is None:
            return qs.none()
        if tag.is_age_tag:
            qs = qs.filter(_age_tag_q(tag, today))
        else:
            qs = qs.filter(pk__in=ResidentTag.objects.filter(tag=tag).values("resident_id"))
    return qs.order_by(*order)


# Pages ------------------------------------------------------------------------------------------


def responsible_staff(dwelling: Dwelling) -> dict[str, list[User]]:
    """Who looks after a dwelling: its liaisons, the building's heads and the grid's workers."""
    building = dwelling.building
    people = (
        User.objects.filter(is_active=True)
        .filter(
            Q(role=Role.LIAISON, dwellings=dwelling)
            | Q(role=Role.BUILDING_HEAD, buildings=building)
            | Q(role=Role.GRID_WORKER, area_id=building.grid_id)
        )
        .distinct()
        .order_by("role", "pk")
    )
    found = {Role.LIAISON: [], Role.BUILDING_HEAD: [], Role.GRID_WORKER: []}
    for person in people:
        found[person.role].append(person)
    return {
        "liaisons": found[Role.LIAISON],
        "building_heads": found[Role.BUILDING_HEAD],
        "grid_workers": found[Role.GRID_WORKER],
    }


@dataclass
class HouseholdPage:
    household: Household
    members: list[Resident]
    former_members: list[Resident]
    staff: dict[str, list[User]]
    events: list[ResidentEvent]
    other_households: list[Household]


_PLACE = "dwelling__building__grid__parent", "dwelling__building__estate", "dwelling__unit"


def household_page(viewer, pk) -> HouseholdPage:
    """Everything the doorstep page shows, in a fixed number of queries whatever the household's size."""
    household = _access(households_visible_to(viewer).select_related(*_PLACE), pk)
    everyone = list(household.members.select_related(*_PLACE).order_by("birth_date", "pk"))
    # The head first, then in the ledger's order of relations (not the codes' alphabetical order).
    rank = {value: i for i, value in enumerate(Relation.values)}
    everyone.sort(key=lambda p: rank.get(p.relation, len(rank)))
    for person in everyone:
        person.household = household
    attach_tags(viewer, everyone)
    members = [p for p in everyone if p.is_active]
    former = [p for p in everyone if not p.is_active]
    events = list(
        ResidentEvent.objects.filter(resident__household=household)
        .select_related("resident", "actor")
        .order_by("-occurred_on", "-pk")[:50]
    )
    others = list(
        households_visible_to(viewer)
        .filter(dwelling=household.dwelling, dissolved_at__isnull=True)
        .exclude(pk=household.pk)
    )
    return HouseholdPage(
        household=household,
        members=members,
        former_members=former,
        staff=responsible_staff(household.dwelling),
        events=events,
        other_households=others,
    )


def dwelling_residents(viewer, dwelling: Dwelling) -> tuple[list[Resident], list[Resident]]:
    """Who lives in a dwelling now, and who lived there before (moved out, died here or moved on to
    another home), newest departures first. `dwelling` must come from an access_* call."""
    visible = residents_visible_to(viewer)
    current = list(visible.filter(dwelling=dwelling, status=ResidentStatus.ACTIVE).order_by("household_id", "pk"))
    left_here = ResidentEvent.objects.filter(
        Q(dwelling=dwelling, kind__in=[EventKind.MOVED_OUT, EventKind.DECEASED])
        | Q(from_dwelling=dwelling, kind=EventKind.DWELLING_CHANGED)
    )
    former_ids = set(left_here.values_list("resident_id", flat=True)) - {r.pk for r in current}
    # Someone who moved on to a home the viewer does not look after is not named: scope follows the
    # resident's dwelling, here as everywhere.
    former = list(
        visible.filter(pk__in=former_ids)
        .select_related("dwelling__building__estate", "dwelling__unit")  # "now lives at" on the page
        .prefetch_related(Prefetch("events", queryset=left_here.order_by("-occurred_on"), to_attr="left_events"))
        .order_by("-left_on", "pk")
    )
    return current, former


def resident_events(resident: Resident) -> list[ResidentEvent]:
    # A dwelling is named "嘉和苑3号楼2单元1302室": estate, building and unit come along.
    return list(
        resident.events.select_related(
            "dwelling__building__estate",
            "dwelling__unit",
            "from_dwelling__building__estate",
            "from_dwelling__unit",
            "actor",
        )
    )


def resident_change_log(viewer, resident: Resident, *, page=1, per_page: int = 20):
    """The resident's change history (who, when, old → new; identifiers masked)."""

    def visible(model):
        if model is Household:
            return households_visible_to(viewer)
        return places.visible_places(viewer, model)

    entries, page_obj = history.change_log(resident, visible=visible, page=page, per_page=per_page)
    if not has_capability(viewer, Capability.VIEW_SENSITIVE):
        label = str(Resident._meta.get_field("health_notes").verbose_name)
        for entry in entries:
            entry.changes[:] = [c for c in entry.changes if c.label != label]
    return entries, page_obj


def communities_for_import(user) -> QuerySet[Area]:
    """The communities a user may import a ledger into."""
    if not has_capability(user, Capability.IMPORT_RESIDENTS):
        return Area.objects.none()
    return places.communities_visible_to(user)
