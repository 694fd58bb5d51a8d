"""The visit figures (docs/kpis.md "走访 (visits)") on a case small enough to count by hand.

Five households of grid1's grid, all registered 40 days ago (T = today):
- A: 独居老人 (every 7 days), visited T-20 by grid1, T-15 by staff1, T-3 by grid1;
- B: 低保 (every 30 days), visited T-10 by grid1;
- C: nobody tagged (every household, 90 days), visited T-5 by staff1;
- D: 低保, never visited;
- E: a 独居老人 who died today (the household is dissolved), never visited.

The test database holds the demo's households and visits too, so each test reads the figures before
and after building the case: the difference is the case's own, whatever the demo holds."""

import datetime

import pytest
from django.utils import timezone

from minqing.core.errors import ApplicationError
from minqing.registry import services as registry_services
from minqing.registry.models import Household
from minqing.visits import kpis, services
from minqing.visits.tests.factories import household_with

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


FIGURES = ("visits", "households_visited", "households", "lost", "care_visits", "care_on_time")


def build_case(persona):
    grid1, staff1 = persona("grid1"), persona("staff1")
    today, now = timezone.localdate(), timezone.now()
    a, _ = household_with(grid1, {"tags": ["独居老人"], "age": 80})
    b, _ = household_with(grid1, {"tags": ["低保"], "age": 40})
    c, _ = household_with(grid1, {"age": 40})
    d, _ = household_with(grid1, {"tags": ["低保"], "age": 40})
    e, (alone,) = household_with(grid1, {"tags": ["独居老人"], "age": 85})
    registry_services.resident_decease(actor=grid1, resident=alone, occurred_on=today.isoformat())
    # The registry has no service to register a household in the past; the case needs its clock to
    # start 40 days ago, before the visits (which may be backdated up to 30 days).
    Household.objects.filter(pk__in=[a.pk, b.pk, c.pk, d.pk, e.pk]).update(created_at=now - 40 * DAY)
    for household, worker, days_ago in [(a, grid1, 20), (a, staff1, 15), (a, grid1, 3), (b, grid1, 10), (c, staff1, 5)]:
        services.visit_log(actor=worker, household=household, visited_at=now - days_ago * DAY)
    return grid1, staff1, today


def measure(persona, viewer, key, **period):
    """Build the case; return its own figures in row `key` (None: the 合计 row): after − before."""

    def row(table):
        found = table.total if key is None else next((r for r in table.rows if r.key == str(key)), None)
        return {f: (getattr(found, f, None) or 0) for f in FIGURES}

    viewer = persona(viewer)
    before = row(kpis.visit_kpis(viewer, **period))
    build_case(persona)
    after = row(kpis.visit_kpis(viewer, **period))
    return {f: after[f] - before[f] for f in FIGURES}


def test_by_grid_over_the_last_twenty_days(persona):
    today = timezone.localdate()
    got = measure(persona, "staff1", persona("grid1").area_id, start=today - 20 * DAY, end=today, dimension="grid")
    assert got["visits"] == 5  # A×3, B, C
    # Coverage: A, B, C visited of A–E. E died today, inside the period: it was a household to visit.
    assert (got["households_visited"], got["households"]) == (3, 5)
    # Care visits: A×3 and B (C has no care tag). On time: A at T-15 (5 days after T-20, rule 7) and
    # B at T-10 (30 days after registration, rule 30). Late: A at T-20 (20 days after registration)
    # and A at T-3 (12 days after T-15).
    assert (got["care_on_time"], got["care_visits"]) == (2, 4)
    # 脱管漏管 at the end of today: D (低保, 40 days since registration > 30). A was seen 3 days
    # ago (≤ 7), B 10 days ago (≤ 30), C has no care tag, E has nobody left.
    assert got["lost"] == 1


def test_lost_is_taken_at_the_end_of_the_period(persona):
    today = timezone.localdate()
    # Ten days on with no visit: A (13 days > 7) and D (50 > 30) are lost; B (20 ≤ 30) is not.
    got = measure(persona, "staff1", None, start=today, end=today + 10 * DAY, dimension="grid")
    assert (got["lost"], got["visits"], got["households"]) == (2, 0, 5)


def test_an_earlier_period_is_judged_at_its_own_end(persona):
    today = timezone.localdate()
    # Only A's first visit (late); at the end of T-18 nobody is past their rule: A seen 2 days before,
    # B and D 22 days after registration (≤ 30).
    got = measure(persona, "staff1", None, start=today - 40 * DAY, end=today - 18 * DAY, dimension="grid")
    assert (got["visits"], got["care_visits"], got["care_on_time"], got["households_visited"]) == (1, 1, 0, 1)
    assert got["lost"] == 0


def test_by_worker(persona):
    today = timezone.localdate()
    period = {"start": today - 20 * DAY, "end": today, "dimension": "worker"}
    got = measure(persona, "staff1", persona("grid1").pk, **period)
    assert (got["visits"], got["households_visited"], got["care_visits"], got["care_on_time"]) == (3, 2, 3, 1)
    row = next(r for r in kpis.visit_kpis(persona("staff1"), **period).rows if r.key == str(persona("grid1").pk))
    assert row.households is None and row.coverage is None  # a household has a grid, not a worker
    assert row.label == persona("grid1").display_name


def test_the_total_counts_a_household_once(persona):
    today = timezone.localdate()
    got = measure(persona, "staff1", None, start=today - 20 * DAY, end=today, dimension="worker")
    # A was visited by grid1 and by staff1: 4 households by worker, 3 in the 合计.
    assert (got["visits"], got["households_visited"], got["households"], got["lost"]) == (5, 3, 5, 1)
    assert (got["care_visits"], got["care_on_time"]) == (4, 2)


def test_another_communitys_worker_sees_none_of_it(persona):
    today = timezone.localdate()
    got = measure(persona, "grid2", None, start=today - 20 * DAY, end=today, dimension="grid")
    assert set(got.values()) == {0}


def test_rates_and_a_bad_dimension():
    row = kpis.VisitKpiRow(key="x", label="", households_visited=3, households=5, care_visits=0)
    assert row.coverage == 60.0 and row.care_on_time_rate is None  # nothing to divide by: "—"
    with pytest.raises(ApplicationError) as exc:
        kpis.visit_kpis(None, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 1, 1), dimension="month")
    assert exc.value.field == "dimension"
