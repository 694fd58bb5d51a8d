"""Reads of visits and care plans, always through accounts/scope.py (visit_q, household_q).

The due list (`due_for`) is one query over households, whatever their number. Each household's
interval, last visit and its date are read from its kept row (visits.due) where that row holds on the
day asked; elsewhere they are counted live — the last visit a correlated subquery on the (household,
visited_at) index, the strictest rule one correlated subquery over the household's active members
and their tags — so the answer is the same either way, only slower without the row. Households whose
kept row says "not due yet" are dropped first, by one anti-join. Python only looks at the page being
shown (who on it carries the tag that set the rule). A district: ~1.3 s (bench/visits_due.py,
bench/RESULTS.md)."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, replace

from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from minqing.accounts import scope
from minqing.accounts.roles import Capability, Role, has_capability
from minqing.accounts.selectors import audit_entries_visible_to
from minqing.areas.models import Area, AreaLevel
from minqing.core.errors import NotFound
from minqing.registry import selectors as registry
from minqing.registry.models import Household, Resident, ResidentStatus, Tag, TagThreshold
from minqing.visits.models import CarePlanRule, HouseholdDue, Visit, VisitPhoto

_PLACE = ("household__dwelling__building__estate", "household__dwelling__building__grid", "household__dwelling__unit")


def visits_visible_to(user) -> QuerySet[Visit]:
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        return Visit.objects.none()
    return Visit.objects.filter(scope.visit_q(user))


def access_visit(user, pk) -> Visit:
    try:
        return visits_visible_to(user).select_related("worker", "ticket", *_PLACE).get(pk=pk)
    except (Visit.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def access_visit_photo(user, pk) -> VisitPhoto:
    """A photo of a visit the user may see, else NotFound."""
    found = VisitPhoto.objects.filter(pk=pk, visit__in=visits_visible_to(user)).first()
    if found is None:
        raise NotFound()
    return found


def visit_from_demand(user, ticket) -> Visit | None:
    """The visit whose finding became `ticket`, if the user may see it (the demand page's 来自走访)."""
    return visits_visible_to(user).filter(ticket=ticket).only("pk", "visited_at", "household").first()


def may_see_readings(user, visit: Visit) -> bool:
    """Health readings are sensitive: roles with VIEW_SENSITIVE, and the worker who took them."""
    return visit.worker_id == getattr(user, "pk", None) or has_capability(user, Capability.VIEW_SENSITIVE)


def _diary(user, visits: QuerySet[Visit], limit: int) -> list[Visit]:
    rows = list(
        visits.select_related("worker", "ticket", "resident")
        .prefetch_related("photos")
        # Who was met, as one text in the same query (the doorstep page counts its queries).
        .annotate(met_names=StringAgg("met__name", Value("、")))
        .order_by("-visited_at", "-pk")[:limit]
    )
    for visit in rows:
        visit.readings_visible = may_see_readings(user, visit)
    return rows


def household_diary(user, household: Household, *, limit: int = 50) -> list[Visit]:
    """The household's visits, newest first (`household` must come from an access_* call)."""
    return _diary(user, visits_visible_to(user).filter(household=household), limit)


def resident_diary(user, resident: Resident, *, limit: int = 50) -> list[Visit]:
    """Visits made for a resident or at which they were met."""
    mine = Q(resident=resident) | Q(pk__in=Visit.met.through.objects.filter(resident=resident).values("visit_id"))
    return _diary(user, visits_visible_to(user).filter(mine), limit)


# Care plans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A rule in force in one community: the community's own, or the shipped default."""

    pk: int
    tag_id: int | None
    tag_name: str
    interval_days: int
    responsible: str
    min_age: int | None = None  # an age tag: from this age in this community
    own: bool = False  # the community's own rule, not the shipped default

    @classmethod
    def of(cls, row: CarePlanRule, *, min_age: int | None) -> "Rule":
        return cls(
            pk=row.pk,
            tag_id=row.tag_id,
            tag_name=row.tag.name if row.tag_id else "",
            interval_days=row.interval_days,
            responsible=row.responsible,
            min_age=min_age,
            own=row.community_id is not None,
        )


def _strictest_first(rule: Rule) -> tuple:
    # At equal intervals a tag's rule before the every-household one, so the reason shown is the more
    # telling one.
    return (rule.interval_days, rule.tag_id is None, rule.pk)


def rules_in_force(community_ids) -> dict[int, list[Rule]]:
    """Per community: its rules, strictest first — each tag's own rule where the community set one,
    the shipped default otherwise; an age tag with the community's own age threshold."""
    community_ids = set(community_ids)
    rows = list(
        CarePlanRule.objects.filter(Q(community__isnull=True) | Q(community_id__in=community_ids))
        .filter(Q(tag__isnull=True) | Q(tag__retired_at__isnull=True))
        .select_related("tag")
    )
    thresholds = defaultdict(dict)
    for t in TagThreshold.objects.filter(community_id__in=community_ids):
        thresholds[t.community_id][t.tag_id] = t.min_age
    result = {}
    for community_id in community_ids:
        chosen: dict[int | None, CarePlanRule] = {}
        for row in rows:
            if row.community_id not in (None, community_id):
                continue
            if row.tag_id and row.tag.community_id not in (None, community_id):
                continue  # another community's own tag
            if row.tag_id not in chosen or row.community_id is not None:
                chosen[row.tag_id] = row
        rules = []
        for row in chosen.values():
            min_age = None
            if row.tag_id and row.tag.min_age is not None:
                min_age = thresholds[community_id].get(row.tag_id, row.tag.min_age)
            rules.append(Rule.of(row, min_age=min_age))
        result[community_id] = sorted(rules, key=_strictest_first)
    return result


class DaysBetween(Func):
    """Whole days from the date `start` to the date `end`, computed by the database."""

    output_field = IntegerField()

    def __init__(self, end, start):
        super().__init__(end, start)

    def as_sql(self, compiler, connection, **extra):
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "sqlite":
            sql = f"CAST(julianday({end_sql}) - julianday({start_sql}) AS INTEGER)"
        else:
            sql = f"(CAST({end_sql} AS date) - CAST({start_sql} AS date))"
        return sql, (*end_params, *start_params)


def _communities_in_scope(user) -> list[int]:
    s = scope.scope_of(user)
    if s is None or s.area_path is None or s.is_department:
        return []
    if s.by_dwelling or s.by_building or s.role == "grid_worker":
        return list(Area.objects.filter(scope.area_q(user)).values_list("parent_id", flat=True).distinct())
    return list(
        Area.objects.filter(level=AreaLevel.COMMUNITY, path__startswith=s.area_path).values_list("pk", flat=True)
    )


def member_interval(rules: list[Rule], today: datetime.date) -> Case | Value:
    """The strictest interval one row of an active member (with one of their tags, through a LEFT
    JOIN) gives its household: the WHEN branches go strictest first and the first that holds wins.
    The every-household rule is the default — every member gives it, so rules after it never win."""
    branches = []
    for rule in rules:
        if rule.tag_id is None:
            return Case(*branches, default=Value(rule.interval_days), output_field=IntegerField())
        if rule.min_age is not None:
            condition = Q(birth_date__lte=registry._birth_cutoff(today, rule.min_age))
        else:
            condition = Q(tag_links__tag_id=rule.tag_id)
        branches.append(When(condition, then=Value(rule.interval_days)))
    if not branches:
        return Value(None, output_field=IntegerField())
    return Case(*branches, default=None, output_field=IntegerField())


def rule_groups(community_rules: dict[int, list[Rule]]) -> list[tuple[list[Rule], list[int]]]:
    """Each distinct set of rules (interval, tag and age of each; mostly the shipped defaults) once,
    with the communities that have it: counted by one query or one CASE branch, not per community."""
    groups: dict[tuple, tuple[list[Rule], list[int]]] = {}
    for community_id, rules in sorted(community_rules.items()):
        key = tuple((r.interval_days, r.tag_id, r.min_age) for r in rules)
        groups.setdefault(key, (rules, []))[1].append(community_id)
    return list(groups.values())


def interval_case(community_rules: dict[int, list[Rule]], today: datetime.date) -> Case:
    """The strictest interval per household (on a Household queryset), None when no rule applies or
    no member is active. One correlated subquery per household — the least of what its active members
    give (`member_interval`), over one probe of its members and their tags — instead of an EXISTS per
    rule: at district scale the EXISTS chain, repeated wherever the interval is used, was most of the
    due list's time (bench/visits_due.py). A branch per distinct set of rules (`rule_groups`)."""
    branches = []
    for rules, communities in rule_groups(community_rules):
        strictest = (
            Resident.objects.filter(household_id=OuterRef("pk"), status=ResidentStatus.ACTIVE)
            .order_by()
            .values("household_id")
            .annotate(interval=Min(member_interval(rules, today)))
            .values("interval")
        )
        branches.append(When(dwelling__building__grid__parent_id__in=sorted(communities), then=Subquery(strictest)))
    if not branches:
        return Value(None, output_field=IntegerField())
    return Case(*branches, default=None, output_field=IntegerField())


def due_row_holds(today: datetime.date, prefix: str = "due__") -> Q:
    """The kept row (visits.due) holds on `today`: counted by then, and no age threshold reached since."""
    return Q(**{f"{prefix}counted_on__lte": today}) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gt": today})
    )


def _not_due_yet(today: datetime.date, upcoming_days: int) -> Exists:
    """The household's kept row holds and says it is not due by then (or never: no rule applies). Read
    from the kept rows alone, as NOT EXISTS, so that PostgreSQL drops these households by one anti-join
    before joining the rest to the places (a district: 90,000 of 330,000 households are left)."""
    by = Value(today + datetime.timedelta(days=upcoming_days))
    return Exists(
        HouseholdDue.objects.filter(due_row_holds(today, prefix=""), household_id=OuterRef("pk"))
        .alias(days=DaysBetween(by, F("since")))
        .filter(Q(interval_days__isnull=True) | Q(days__lt=F("interval_days")))
    )


def due_for(user, today: datetime.date | None = None, *, grid=None, upcoming_days: int = 0) -> QuerySet[Household]:
    """Households in the user's scope that must be visited by `today` (+ `upcoming_days`), riskiest
    first. Each row carries:

    - `interval_days`: the strictest rule that applies (a member's care tag, an age tag from the
      birth date with the community's threshold, or every household);
    - `last_visit_at`: the household's last visit (any visit to the household or one of its people:
      a visit is always recorded on a household), or None;
    - `since`: the last visit's date, or for a household never visited the day it was registered —
      a new arrival is due one interval after it came onto the books, not "overdue since forever",
      so an imported ledger does not put the whole community in red on its first day, and nobody
      escapes either: the clock starts then;
    - `days_overdue`: today − (since + interval); 0 is due today, negative is not yet due;
    - `risk`: days_overdue ÷ interval, the missed share of a cycle. Ordering by it puts a 独居老人
      three days late (3/7) before an ordinary household twenty days late (20/90): lateness counts
      in the person's own rhythm. Ties: the stricter rule first, then the longest since a visit.

    Residents who moved out or died drop out (only active members' tags count), as do households
    with no active member. One SQL query; `attach_reasons` fills in who on a page set the rule."""
    today = today or timezone.localdate()
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        return Household.objects.none()
    # The grids in scope by id as well as the scope's path: PostgreSQL then starts from the buildings
    # of those grids instead of joining every household of the district to the few grids in scope.
    grids = dict(Area.objects.filter(scope.area_q(user), level=AreaLevel.GRID).values_list("pk", "parent_id"))
    rules = rules_in_force(set(grids.values()))
    last_visit = Visit.objects.filter(household_id=OuterRef("pk")).order_by("-visited_at").values("visited_at")[:1]
    # No active member, no interval: such a household drops out through the filter on days_overdue.
    qs = registry.households_visible_to(user).filter(dwelling__building__grid_id__in=sorted(grids))
    if grid not in (None, ""):
        qs = qs.filter(dwelling__building__grid_id=grid)
    # A counted row's last visit and its date are the household's (visit_log keeps them); an uncounted
    # one (visit_log's before any count) may miss an earlier-logged later visit.
    counted = Q(due__counted_on__isnull=False)
    qs = (
        qs.filter(~_not_due_yet(today, upcoming_days))
        .annotate(
            # The kept row where it holds on `today` (visits.due), else counted live.
            last_visit_at=Case(When(counted, then=F("due__last_visit_at")), default=Subquery(last_visit)),
            interval_days=Case(
                When(due_row_holds(today), then=F("due__interval_days")),
                default=interval_case(rules, today),
                output_field=IntegerField(),
            ),
        )
        .annotate(
            since=Case(
                When(counted, then=F("due__since")),
                default=Coalesce(TruncDate("last_visit_at"), TruncDate("created_at")),
            )
        )
        .annotate(days_overdue=DaysBetween(Value(today), F("since")) - F("interval_days"))
        .annotate(risk=Cast(F("days_overdue"), FloatField()) / F("interval_days"))
        .filter(days_overdue__gte=-upcoming_days)
    )
    return qs.select_related("dwelling__building__grid", "dwelling__building__estate", "dwelling__unit").order_by(
        F("risk").desc(), "interval_days", "since", "pk"
    )


def attach_reasons(user, households: list[Household], today: datetime.date | None = None) -> list[Household]:
    """For a page of the due list: on each household, `rule` (the Rule in force), `reason_residents`
    (the active members whose tags set it; empty for the every-household rule) and `due_on`."""
    today = today or timezone.localdate()
    if not households:
        return households
    members = list(
        Resident.objects.filter(household__in=[h.pk for h in households], status=ResidentStatus.ACTIVE)
        # Only names are shown: no ID number or phone decrypted for a page of reasons.
        .defer("id_number", "phone")
        .select_related("dwelling__building__grid")
        .order_by("household_id", "pk")
    )
    registry.attach_tags(user, members, today=today)
    by_household = defaultdict(list)
    for m in members:
        by_household[m.household_id].append(m)
    rules = rules_in_force({h.dwelling.building.grid.parent_id for h in households})
    # A sensitive tag the viewer may not see still sets the rule (nobody is dropped from care), but
    # its name is not shown: the ShownTag list leaves it out, so the reason falls back to the rule.
    hidden = set(Tag.objects.filter(sensitive=True).values_list("pk", flat=True))
    for h in households:
        h.rule, h.reason_residents, h.rule_name = None, [], ""
        for rule in rules.get(h.dwelling.building.grid.parent_id, []):
            if rule.interval_days != h.interval_days:
                continue
            if rule.tag_id is None:
                h.rule = rule
                break
            holders = [m for m in by_household[h.pk] if any(t.tag_id == rule.tag_id for t in m.shown_tags)]
            if holders or rule.tag_id in hidden:
                h.rule, h.reason_residents = rule, holders
                # Named only where the viewer sees who carries it (a sensitive tag stays unnamed).
                h.rule_name = rule.tag_name if holders else ""
                break
        h.due_on = h.since + datetime.timedelta(days=h.interval_days)
    return households


def due_summary_by_grid(user, today: datetime.date | None = None) -> list[dict]:
    """Staff: per grid, how many households are overdue and how many due today."""
    from django.db.models import Count

    rows = (
        due_for(user, today)
        .order_by()
        .values("dwelling__building__grid_id", "dwelling__building__grid__name")
        .annotate(
            overdue=Count("pk", filter=Q(days_overdue__gt=0)),
            due_today=Count("pk", filter=Q(days_overdue=0)),
        )
        .order_by("dwelling__building__grid__name")
    )
    return [
        {"grid_id": r["dwelling__building__grid_id"], "grid": r["dwelling__building__grid__name"], **r} for r in rows
    ]


def care_rules_visible_to(user) -> QuerySet[CarePlanRule]:
    """The shipped defaults and the rules of the communities in the user's scope."""
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        return CarePlanRule.objects.none()
    return CarePlanRule.objects.filter(
        Q(community__isnull=True) | Q(community_id__in=_communities_in_scope(user))
    ).select_related("community", "tag")


def care_rule_communities(user) -> QuerySet[Area]:
    """The communities whose rules the user may read on the rules page."""
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        return Area.objects.none()
    return Area.objects.filter(pk__in=_communities_in_scope(user)).order_by("path")


def may_set_care_rules(user, community: Area | None) -> bool:
    """Whether the rules page offers `user` to change the rules of `community` (None: the shipped
    defaults) — the same rule services.care_rule_set enforces."""
    if not has_capability(user, Capability.MANAGE_TAGS):
        return False
    if community is None:
        return user.role == Role.DISTRICT_STAFF
    return community.pk in _communities_in_scope(user)


def care_rules_shown(user, community: Area | None) -> list[Rule]:
    """The rules of `community` in force (its own and the defaults it keeps), or the shipped defaults
    for None, strictest first. A sensitive tag the viewer may not see keeps its row (the household
    is still on the due list) without its name, as on 今日走访."""
    if community is None:
        rows = (
            care_rules_visible_to(user)
            .filter(community__isnull=True)
            .filter(Q(tag__isnull=True) | Q(tag__retired_at__isnull=True))
        )
        rules = sorted((Rule.of(r, min_age=r.tag.min_age if r.tag_id else None) for r in rows), key=_strictest_first)
    else:
        rules = rules_in_force([community.pk])[community.pk]
    hidden = set(Tag.objects.filter(sensitive=True).values_list("pk", flat=True))
    if has_capability(user, Capability.VIEW_SENSITIVE):
        hidden = set()
    return [replace(r, tag_name="") if r.tag_id in hidden else r for r in rules]


def care_rule_tags_without_rule(user, community: Area | None, rules: list[Rule]) -> QuerySet[Tag]:
    """Tags a rule may be added for: shared or the community's own, visible to the user, not yet ruled."""
    tags = registry.tags_visible_to(user).filter(Q(community__isnull=True) | Q(community=community))
    return tags.exclude(pk__in=[r.tag_id for r in rules if r.tag_id]).order_by("name")


def care_rule_history(user, community: Area | None, *, limit: int = 20):
    """The rule changes of `community` (None: the defaults), newest first, for those who read the
    audit log; the rest see the rules as they are."""
    if not has_capability(user, Capability.VIEW_AUDIT):
        return []
    entries = audit_entries_visible_to(user).filter(
        action__in=["visit.care_rule_set", "visit.care_rule_reset"],
        data__community=community.pk if community else None,
    )
    return list(entries.order_by("-at", "-id")[:limit])
