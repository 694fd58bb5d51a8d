"""The care plan: who is due, by which rule, since when, in which order."""

import datetime

import pytest
from django.utils import timezone

from minqing.registry import services as registry_services
from minqing.visits import selectors, services
from minqing.visits.tests.factories import household_with, tag

pytestmark = pytest.mark.django_db


def row(user, household, today):
    found = {h.pk: h for h in selectors.due_for(user, today)}
    h = found.get(household.pk)
    if h is not None:
        selectors.attach_reasons(user, [h], today)
    return h


def test_several_tags_the_strictest_rule_holds(persona):
    grid1 = persona("grid1")
    household, (poor_alone,) = household_with(grid1, {"tags": ["低保", "独居老人"], "age": 75})
    today = timezone.localdate()
    assert row(grid1, household, today) is None  # new arrival: not due on the day it is registered
    due = row(grid1, household, today + datetime.timedelta(days=7))
    assert due.interval_days == 7 and due.days_overdue == 0
    assert due.rule.tag_name == "独居老人" and due.reason_residents == [poor_alone]


def test_age_tag_from_the_birth_date_and_the_communitys_threshold(persona):
    grid1, admin1 = persona("grid1"), persona("admin1")
    household, _ = household_with(grid1, {"age": 75}, {"age": 40})
    later = timezone.localdate() + datetime.timedelta(days=14)
    assert row(grid1, household, later) is None  # 75 is not 高龄 (80) here: every household, 90 days
    registry_services.tag_set_threshold(actor=admin1, community=grid1.area.parent, tag=tag("高龄"), min_age=70)
    due = row(grid1, household, later)
    assert due.interval_days == 14 and due.rule.tag_name == "高龄"


def test_moved_out_and_deceased_residents_drop_out(persona):
    grid1 = persona("grid1")
    household, (alone, son) = household_with(grid1, {"tags": ["独居老人"], "age": 82}, {"age": 50})
    today = timezone.localdate()
    registry_services.resident_decease(actor=grid1, resident=alone, occurred_on=today.isoformat())
    # The son still lives there: the household falls back to every-household (90 days).
    assert row(grid1, household, today + datetime.timedelta(days=30)) is None
    assert row(grid1, household, today + datetime.timedelta(days=90)).interval_days == 90
    registry_services.resident_move_out(actor=grid1, resident=son, occurred_on=today.isoformat(), destination="北京")
    assert row(grid1, household, today + datetime.timedelta(days=200)) is None  # nobody left to visit


def test_a_visit_restarts_the_clock_and_lateness_is_counted_in_days(persona):
    grid1 = persona("grid1")
    household, (alone,) = household_with(grid1, {"tags": ["独居老人"], "age": 80})
    today = timezone.localdate()
    assert row(grid1, household, today + datetime.timedelta(days=10)).days_overdue == 3
    services.visit_log(actor=grid1, household=household, visited_at=timezone.now() - datetime.timedelta(days=2))
    assert row(grid1, household, today + datetime.timedelta(days=4)) is None
    due = row(grid1, household, today + datetime.timedelta(days=10))
    assert due.days_overdue == 5 and due.last_visit_at is not None


def test_a_communitys_own_rule_overrides_the_default(persona):
    grid1, admin1 = persona("grid1"), persona("admin1")
    household, _ = household_with(grid1, {"tags": ["独居老人"], "age": 80})
    services.care_rule_set(
        actor=admin1, community=grid1.area.parent, tag=tag("独居老人"), interval_days=3, responsible="grid_worker"
    )
    due = row(grid1, household, timezone.localdate() + datetime.timedelta(days=3))
    assert due.interval_days == 3 and due.rule.responsible == "grid_worker"


def test_each_community_keeps_its_own_rule_in_a_list_over_several(persona):
    """District staff see two communities at once: each household is judged by its own community's
    rule (3 days in grid1's community, the shipped 7 in grid2's)."""
    grid1, grid2, admin1 = persona("grid1"), persona("grid2"), persona("admin1")
    here, _ = household_with(grid1, {"tags": ["独居老人"], "age": 80})
    there, _ = household_with(grid2, {"tags": ["独居老人"], "age": 80})
    services.care_rule_set(
        actor=admin1, community=grid1.area.parent, tag=tag("独居老人"), interval_days=3, responsible="grid_worker"
    )
    district1 = persona("district1")
    today = timezone.localdate()
    due = {h.pk: h.interval_days for h in selectors.due_for(district1, today + datetime.timedelta(days=3))}
    assert due.get(here.pk) == 3 and there.pk not in due
    due = {h.pk: h.interval_days for h in selectors.due_for(district1, today + datetime.timedelta(days=7))}
    assert due.get(here.pk) == 3 and due.get(there.pk) == 7


def test_riskiest_first(persona):
    """A 独居老人 3 days late (3/7 of a cycle) before an ordinary household 20 days late (20/90)."""
    grid1 = persona("grid1")
    plain, _ = household_with(grid1, {"age": 40})
    alone, _ = household_with(grid1, {"tags": ["独居老人"], "age": 80})
    now = timezone.now()
    services.visit_log(actor=grid1, household=plain, visited_at=now - datetime.timedelta(days=25))
    services.visit_log(actor=grid1, household=alone, visited_at=now - datetime.timedelta(days=25))
    today = timezone.localdate() + datetime.timedelta(days=85)  # plain: 110 days since, 20 late
    order = [h.pk for h in selectors.due_for(grid1, today)]
    assert plain.pk in order and alone.pk in order
    assert order.index(alone.pk) < order.index(plain.pk)


def test_the_liaison_sees_only_their_households(persona):
    grid1, liaison1 = persona("grid1"), persona("liaison1")
    theirs = liaison1.dwellings.order_by("pk").first()
    inside, _ = household_with(grid1, {"tags": ["独居老人"], "age": 80}, dwelling=theirs)
    outside, _ = household_with(grid1, {"tags": ["独居老人"], "age": 80})
    later = timezone.localdate() + datetime.timedelta(days=8)
    listed = set(selectors.due_for(liaison1, later).values_list("pk", flat=True))
    assert inside.pk in listed and outside.pk not in listed
    assert {inside.pk, outside.pk} <= set(selectors.due_for(grid1, later).values_list("pk", flat=True))
    assert not selectors.due_for(persona("grid2"), later).filter(pk__in=[inside.pk, outside.pk]).exists()


def test_the_due_list_is_one_query(persona, django_assert_num_queries):
    grid1 = persona("grid1")
    for _ in range(3):
        household_with(grid1, {"tags": ["独居老人"], "age": 80})
    later = timezone.localdate() + datetime.timedelta(days=30)
    qs = selectors.due_for(grid1, later)  # the rules and communities are read here
    with django_assert_num_queries(1):
        assert len(list(qs)) >= 3
