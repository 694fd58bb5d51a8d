"""Logging visits: idempotent submission, readings, the finding that becomes a demand, scope."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.models import AuditEntry
from minqing.tickets.models import Category
from minqing.visits import services
from minqing.visits.models import Visit
from minqing.visits.tests.factories import household_with, tag

pytestmark = pytest.mark.django_db


def test_the_same_key_twice_is_one_visit(persona):
    grid1 = persona("grid1")
    household, _ = household_with(grid1)
    first = services.visit_log(actor=grid1, household=household, note="第一次", idempotency_key="draft-0001-abcd")
    again = services.visit_log(actor=grid1, household=household, note="重发", idempotency_key="draft-0001-abcd")
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert Visit.objects.filter(household=household).count() == 1
    assert Visit.objects.get(pk=first.pk).note == "第一次"
    assert AuditEntry.objects.filter(action="visit.log", target_id=str(first.pk)).count() == 1
    # Another worker's draft with the same key is another visit.
    other = services.visit_log(actor=persona("staff1"), household=household, idempotency_key="draft-0001-abcd")
    assert other.pk != first.pk
    assert Visit.objects.filter(household=household).count() == 2


def test_a_key_is_checked(persona):
    grid1 = persona("grid1")
    household, _ = household_with(grid1)
    with pytest.raises(ApplicationError) as err:
        services.visit_log(actor=grid1, household=household, idempotency_key="bad key!")
    assert err.value.field == "idempotency_key"


@pytest.mark.parametrize(
    "readings, flags",
    [
        ({"temperature": "36.5"}, []),
        ({"temperature": "37.3"}, ["fever"]),
        ({"temperature": "34.8"}, ["low_temperature"]),
        ({"systolic": 120, "diastolic": 80}, []),
        ({"systolic": 140, "diastolic": 85}, ["high_bp"]),
        ({"systolic": 130, "diastolic": 90}, ["high_bp"]),
        ({"systolic": 90, "diastolic": 65}, ["low_bp"]),
        ({"temperature": "38.0", "systolic": "165", "diastolic": "100"}, ["fever", "high_bp"]),
    ],
)
def test_readings_are_stored_and_flagged(persona, readings, flags):
    grid1 = persona("grid1")
    household, _ = household_with(grid1)
    visit = services.visit_log(actor=grid1, household=household, **readings)
    visit.refresh_from_db()
    assert visit.flags == flags
    if "temperature" in readings:
        assert visit.temperature == Decimal(readings["temperature"])


@pytest.mark.parametrize(
    "readings, field",
    [
        ({"temperature": "29.9"}, "temperature"),
        ({"temperature": "45.1"}, "temperature"),
        ({"temperature": "三十七"}, "temperature"),
        ({"temperature": "1E+1000"}, "temperature"),  # absurd, not a crash
        ({"temperature": "NaN"}, "temperature"),
        ({"systolic": 300, "diastolic": 80}, "systolic"),
        ({"systolic": 120, "diastolic": 20}, "diastolic"),
        ({"systolic": 80, "diastolic": 120}, "diastolic"),  # swapped
        ({"systolic": 120}, "diastolic"),
        ({"systolic": "120.5", "diastolic": 80}, "systolic"),
    ],
)
def test_impossible_readings_are_refused_naming_the_field(persona, readings, field):
    grid1 = persona("grid1")
    household, _ = household_with(grid1)
    with pytest.raises(ApplicationError) as err:
        services.visit_log(actor=grid1, household=household, **readings)
    assert err.value.field == field
    assert not Visit.objects.filter(household=household).exists()


def test_the_visit_time(persona):
    grid1 = persona("grid1")
    household, _ = household_with(grid1)
    with pytest.raises(ApplicationError) as err:
        services.visit_log(actor=grid1, household=household, visited_at=timezone.now() + datetime.timedelta(hours=1))
    assert err.value.field == "visited_at"
    offline = timezone.now() - datetime.timedelta(hours=5)  # a draft kept on the phone since morning
    assert services.visit_log(actor=grid1, household=household, visited_at=offline.isoformat()).visited_at == offline


def test_who_was_met_must_live_there(persona):
    grid1 = persona("grid1")
    household, (a, b) = household_with(grid1, {}, {})
    elsewhere, (c,) = household_with(grid1)
    visit = services.visit_log(actor=grid1, household=household, met=[a.pk, b.pk], resident=a)
    assert set(visit.met.all()) == {a, b} and visit.resident == a
    with pytest.raises(ApplicationError) as err:
        services.visit_log(actor=grid1, household=household, met=[a.pk, c.pk])
    assert err.value.field == "met"


def test_a_finding_becomes_a_demand_linked_both_ways(persona):
    grid1 = persona("grid1")
    household, (head, wife) = household_with(grid1, {}, {"relation": "spouse"})
    visit = services.visit_log(
        actor=grid1,
        household=household,
        purpose="safety",
        note="燃气软管老化开裂",
        met=[wife.pk],
        demand={"category": Category.objects.get(name="燃气隐患")},
    )
    visit.refresh_from_db()
    ticket = visit.ticket
    assert ticket.channel == "visit" and ticket.description == "燃气软管老化开裂"
    assert ticket.dwelling_id == household.dwelling_id and ticket.reporter_resident == wife
    assert list(ticket.visits.all()) == [visit]
    with pytest.raises(ApplicationError) as err:
        services.visit_to_demand(actor=grid1, visit=visit, category=ticket.category)
    assert err.value.field == "ticket"
    # Without anyone met, the household's head reports it.
    plain = services.visit_log(actor=grid1, household=household, note="楼道灯坏")
    other = services.visit_to_demand(actor=grid1, visit=plain, category=Category.objects.get(name="路灯损坏"))
    assert other.reporter_resident == head


def test_scope(persona):
    grid1, liaison1 = persona("grid1"), persona("liaison1")
    outside, _ = household_with(grid1)  # in grid1's grid, not one of liaison1's households
    theirs = Visit.objects.filter(worker=liaison1).count()
    with pytest.raises(NotFound):
        services.visit_log(actor=liaison1, household=outside)
    with pytest.raises(NotFound):
        services.visit_log(actor=persona("grid2"), household=outside)
    with pytest.raises(PermissionDenied):
        services.visit_log(actor=persona("dept1"), household=outside)
    visit = services.visit_log(actor=grid1, household=outside, note="x")
    with pytest.raises(NotFound):
        services.visit_to_demand(actor=liaison1, visit=visit, category=Category.objects.get(name="其他"))
    assert Visit.objects.filter(worker=liaison1).count() == theirs
    assert not Visit.objects.filter(household=outside).exclude(pk=visit.pk).exists()


def test_care_rules_are_set_by_those_who_manage_tags(persona):
    admin1, grid1, district1 = persona("admin1"), persona("grid1"), persona("district1")
    community = grid1.area.parent
    with pytest.raises(PermissionDenied):
        services.care_rule_set(actor=grid1, community=community, tag=None, interval_days=30, responsible="liaison")
    with pytest.raises(PermissionDenied):  # the shipped defaults are the district's
        services.care_rule_set(actor=admin1, community=None, tag=None, interval_days=30, responsible="liaison")
    with pytest.raises(NotFound):  # another community
        services.care_rule_set(
            actor=admin1, community=persona("staff2").area, tag=None, interval_days=30, responsible="liaison"
        )
    with pytest.raises(ApplicationError) as err:
        services.care_rule_set(actor=admin1, community=community, tag=None, interval_days=0, responsible="liaison")
    assert err.value.field == "interval_days"
    rule = services.care_rule_set(
        actor=admin1, community=community, tag=tag("低保"), interval_days=20, responsible="liaison"
    )
    again = services.care_rule_set(
        actor=admin1, community=community, tag=tag("低保"), interval_days=21, responsible="grid_worker"
    )
    assert again.pk == rule.pk and again.interval_days == 21
    assert (
        services.care_rule_set(
            actor=district1, community=None, tag=None, interval_days=60, responsible="grid_worker"
        ).community
        is None
    )
