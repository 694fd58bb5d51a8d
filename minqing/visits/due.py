"""The kept due dates (visits.models.HouseholdDue): the writes that keep them true.

Each household's row says what due_for would count live — its strictest interval, its last visit —
and for how long that holds. It is counted again:
- when the registry says members, tags or birth dates of a household changed (registry.signals), in
  that same transaction for a few households, or dropped and counted in the background for many (a
  ledger import);
- when care rules or age thresholds change in a community: its rows are dropped and counted in the
  background;
- by the sweep (`visits_sweep`, the task below), for households with no row yet and rows whose
  `valid_until` has come (a member reaching an age threshold).
A dropped or stale row is never wrong, only slow: due_for counts such a household live.

Races on PostgreSQL: a count locks its households' rows (FOR NO KEY UPDATE — visits and new members
only take KEY SHARE on them, so they are not held up); the background sweep skips rows a registry
write holds, whose own transaction counts them. A visit logged while a count runs is kept by the
upsert taking the later of the two last visits."""

import datetime
from collections import defaultdict
from itertools import batched

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from minqing.registry.models import Household, Resident, ResidentStatus
from minqing.registry.selectors import _birth_cutoff
from minqing.visits import selectors
from minqing.visits.models import HouseholdDue, Visit

# Households counted inside the writer's own transaction; more than this (a ledger import) are
# dropped there and counted by the background sweep.
COUNT_NOW_MAX = 500
CHUNK = 2000

_TABLE = HouseholdDue._meta.db_table
# The kept last visit (and its date) unless the incoming one is later.
_KEEP_VISIT = f"excluded.last_visit_at IS NULL OR {_TABLE}.last_visit_at > excluded.last_visit_at"
_LATER_VISIT = (
    f"last_visit_at = CASE WHEN {_KEEP_VISIT} THEN {_TABLE}.last_visit_at ELSE excluded.last_visit_at END, "
    f"since = CASE WHEN {_KEEP_VISIT} THEN {_TABLE}.since ELSE excluded.since END"
)
_UPDATE_COUNTED = (
    "interval_days = excluded.interval_days, counted_on = excluded.counted_on, "
    f"valid_until = excluded.valid_until, {_LATER_VISIT}"
)


def turns(birth: datetime.date, age: int) -> datetime.date:
    """The day someone born on `birth` reaches `age`, as registry's age tags read it (a 29 February
    birthday falls on 1 March in a common year)."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return datetime.date(birth.year + age, 3, 1)


def _upsert(rows: list[tuple], *, update: str) -> None:
    """Insert or update (household_id, interval_days, last_visit_at, since, counted_on, valid_until) rows."""
    ops = connection.ops
    for batch in batched(rows, 500, strict=False):
        params = []
        for household_id, interval, last_visit, since, counted_on, valid_until in batch:
            params += [
                household_id,
                interval,
                ops.adapt_datetimefield_value(last_visit),
                ops.adapt_datefield_value(since),
                ops.adapt_datefield_value(counted_on),
                ops.adapt_datefield_value(valid_until),
            ]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_TABLE} (household_id, interval_days, last_visit_at, since, counted_on, valid_until) "
                f"VALUES {values} ON CONFLICT (household_id) DO UPDATE SET {update}",
                params,
            )


def _count(household_ids: list[int], today: datetime.date) -> list[tuple]:
    """Rows for these households as due_for counts them live on `today` (interval_case's rules, the
    same per-member CASE), with the first day an age threshold may change that."""
    registered, households_of = {}, defaultdict(list)
    for pk, community_id, created_at in Household.objects.filter(pk__in=household_ids).values_list(
        "pk", "dwelling__building__grid__parent_id", "created_at"
    ):
        registered[pk] = timezone.localdate(created_at)
        households_of[community_id].append(pk)
    interval: dict[int, int | None] = {}
    valid_until: dict[int, datetime.date | None] = {}
    # Households with no rule (none in force, no community) keep None.
    for group_rules, communities in selectors.rule_groups(selectors.rules_in_force(set(households_of) - {None})):
        households = [h for c in communities for h in households_of[c]]
        # An age matters only where its rule is stricter than what the household already has.
        age_interval = {r.min_age: r.interval_days for r in reversed(group_rules) if r.min_age is not None}
        ages = sorted(age_interval)
        # The oldest member not yet of an age is the first to reach it.
        younger = {f"young_{a}": Min("birth_date", filter=Q(birth_date__gt=_birth_cutoff(today, a))) for a in ages}
        rows = (
            Resident.objects.filter(household_id__in=households, status=ResidentStatus.ACTIVE)
            .order_by()
            .values("household_id")
            .annotate(interval=Min(selectors.member_interval(group_rules, today)), **younger)
        )
        for row in rows:
            strictest = interval[row["household_id"]] = row["interval"]
            days = [
                turns(row[f"young_{a}"], a)
                for a in ages
                if row[f"young_{a}"] is not None and (strictest is None or age_interval[a] < strictest)
            ]
            valid_until[row["household_id"]] = min(days, default=None)
    last_visit = dict(
        Visit.objects.filter(household_id__in=household_ids)
        .order_by()
        .values("household_id")
        .annotate(last=Max("visited_at"))
        .values_list("household_id", "last")
    )
    rows = []
    for h in registered:
        last = last_visit.get(h)
        since = timezone.localdate(last) if last else registered[h]
        rows.append((h, interval.get(h), last, since, today, valid_until.get(h)))
    return rows


def household_due_count(household_ids, *, today: datetime.date | None = None, skip_locked: bool = False) -> int:
    """Count these households' rows again (in the caller's transaction, or one of its own); with
    `skip_locked`, leave out households a registry write holds (it counts them itself). Returns how
    many rows were written."""
    today = today or timezone.localdate()
    written = 0
    for chunk in batched(sorted(set(household_ids)), CHUNK, strict=False):
        with transaction.atomic():
            held = list(
                Household.objects.filter(pk__in=chunk)
                .order_by("pk")
                .select_for_update(no_key=True, skip_locked=skip_locked)
                .values_list("pk", flat=True)
            )
            rows = _count(held, today)
            _upsert(rows, update=_UPDATE_COUNTED)
            written += len(rows)
    return written


def household_due_forget(household_ids) -> None:
    """Drop the rows of these households and have the background sweep count them after the commit;
    until then due_for counts them live."""
    # A chunk at a time: a ledger import may name more households than a statement takes parameters.
    for chunk in batched(sorted(household_ids), CHUNK, strict=False):
        HouseholdDue.objects.filter(household_id__in=chunk).delete()
    _sweep_after_commit()


def community_due_forget(community_ids) -> None:
    """The same for every household of these communities (None: of all)."""
    rows = HouseholdDue.objects.all()
    if community_ids is not None:
        rows = rows.filter(household__dwelling__building__grid__parent_id__in=list(community_ids))
    rows.delete()
    _sweep_after_commit()


def _sweep_after_commit() -> None:
    from minqing.visits.tasks import household_due_sweep_task

    transaction.on_commit(household_due_sweep_task.enqueue)


def household_due_visit(household_id: int, visited_at: datetime.datetime) -> None:
    """visit_log's part: the household's last visit, unless a later one is already kept."""
    _upsert([(household_id, None, visited_at, timezone.localdate(visited_at), None, None)], update=_LATER_VISIT)


def household_due_sweep(*, today: datetime.date | None = None) -> int:
    """Count the households with no row, a row never counted, or a row whose `valid_until` has come;
    a chunk per transaction. Returns how many rows were written."""
    today = today or timezone.localdate()
    stale = Household.objects.filter(
        Q(due__isnull=True) | Q(due__counted_on__isnull=True) | Q(due__valid_until__lte=today)
    ).values_list("pk", flat=True)
    return household_due_count(list(stale), today=today, skip_locked=True)


def on_households_changed(sender, *, household_ids, **kwargs) -> None:
    if len(household_ids) <= COUNT_NOW_MAX:
        household_due_count(household_ids)
    else:
        household_due_forget(household_ids)


def on_communities_changed(sender, *, community_ids, **kwargs) -> None:
    community_due_forget(community_ids)
