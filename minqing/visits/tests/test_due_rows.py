"""The kept due dates (visits.due): the due list read from them is the list counted live, day after
day, through birthdays, rule changes, moves and late-sent visits."""

import datetime

import pytest
from django.utils import timezone

from minqing.registry import services as registry_services
from minqing.registry.models import Household
from minqing.registry.selectors import _birth_cutoff
from minqing.visits import due, selectors, services
from minqing.visits.models import HouseholdDue
from minqing.visits.tests.factories import household_with, tag

pytestmark = pytest.mark.django_db


def listed(user, day) -> dict:
    rows = selectors.due_for(user, day, upcoming_days=400)
    return {h.pk: (h.interval_days, h.days_overdue, h.last_visit_at) for h in rows}


def counted_live(user, day) -> dict:
    """The same list with no kept row: everything counted from visits, members and tags."""
    kept = list(HouseholdDue.objects.all())
    HouseholdDue.objects.all().delete()
    try:
        return listed(user, day)
    finally:
        HouseholdDue.objects.bulk_create(kept)


def holding(day) -> set[int]:
    """Households whose kept row due_for reads on `day`."""
    return set(Household.objects.filter(selectors.due_row_holds(day)).values_list("pk", flat=True))


def born(turning: int, on: datetime.date) -> str:
    """A birth date reaching `turning` years on `on`."""
    return _birth_cutoff(on, turning).isoformat()


def test_the_list_from_kept_rows_is_the_list_counted_live_on_every_day(persona):
    grid1, grid2, district1 = persona("grid1"), persona("grid2"), persona("district1")
    today = timezone.localdate()
    soon = today + datetime.timedelta(days=5)
    # Turns 80 (高龄, 14 days) in five days, in a household otherwise seen every 90.
    ageing, _ = household_with(grid1, {"birth_date": born(80, soon)}, {"age": 50})
    alone, _ = household_with(grid2, {"tags": ["独居老人"], "age": 70}, {"age": 40})
    plain, (father, son) = household_with(grid1, {"age": 45}, {"age": 12})
    registry_services.resident_decease(actor=grid1, resident=father, occurred_on=today.isoformat())
    services.visit_log(actor=grid2, household=alone, visited_at=timezone.now() - datetime.timedelta(days=3))
    mine = {ageing.pk, alone.pk, plain.pk}
    assert set(HouseholdDue.objects.values_list("household_id", flat=True)) >= mine
    assert HouseholdDue.objects.get(household=ageing).valid_until == soon
    assert HouseholdDue.objects.get(household=alone).valid_until is None

    for offset in range(0, 30):
        day = today + datetime.timedelta(days=offset)
        assert listed(district1, day) == counted_live(district1, day), day
    # Before the birthday the kept rows answer; from it, ageing's row no longer holds until swept.
    assert mine <= holding(today)
    assert ageing.pk not in holding(soon) and alone.pk in holding(soon)
    assert due.household_due_sweep(today=soon) >= 1
    assert ageing.pk in holding(soon)
    assert HouseholdDue.objects.get(household=ageing).interval_days == 14
    assert listed(district1, soon) == counted_live(district1, soon)


def test_a_29_february_birthday_and_a_communitys_own_threshold(persona):
    grid1, admin1, district1 = persona("grid1"), persona("admin1"), persona("district1")
    leapling, _ = household_with(grid1, {"birth_date": "1948-02-29"})
    registry_services.tag_set_threshold(actor=admin1, community=grid1.area.parent, tag=tag("高龄"), min_age=79)
    # The threshold dropped the community's rows; the background count brings them back.
    assert not HouseholdDue.objects.filter(household=leapling).exists()
    today = timezone.localdate()
    due.household_due_sweep(today=today)
    row = HouseholdDue.objects.get(household=leapling)
    if today < datetime.date(2027, 3, 1):
        assert row.valid_until == datetime.date(2027, 3, 1)  # 79 on 1 March in a common year
    for day in (datetime.date(2027, 2, 28), datetime.date(2027, 3, 1), today):
        if day >= today:
            assert listed(district1, day) == counted_live(district1, day), day


def test_a_rule_change_drops_the_communitys_rows_and_the_sweep_counts_them_again(persona):
    grid1, grid2, admin1, district1 = persona("grid1"), persona("grid2"), persona("admin1"), persona("district1")
    here, _ = household_with(grid1, {"tags": ["独居老人"], "age": 70})
    there, _ = household_with(grid2, {"tags": ["独居老人"], "age": 70})
    services.care_rule_set(
        actor=admin1, community=grid1.area.parent, tag=tag("独居老人"), interval_days=3, responsible="grid_worker"
    )
    kept = set(HouseholdDue.objects.values_list("household_id", flat=True))
    assert here.pk not in kept and there.pk in kept  # only the community whose rule changed
    later = timezone.localdate() + datetime.timedelta(days=3)
    assert listed(district1, later)[here.pk][0] == 3  # counted live meanwhile: already right
    due.household_due_sweep()
    assert HouseholdDue.objects.get(household=here).interval_days == 3
    assert listed(district1, later) == counted_live(district1, later)


def test_a_visit_sent_late_from_a_phone_does_not_move_the_last_visit_back(persona):
    grid1 = persona("grid1")
    household, _ = household_with(grid1, {"tags": ["独居老人"], "age": 70})
    now = timezone.now()
    services.visit_log(actor=grid1, household=household, visited_at=now - datetime.timedelta(minutes=1))
    services.visit_log(actor=grid1, household=household, visited_at=now - datetime.timedelta(days=4))
    assert HouseholdDue.objects.get(household=household).last_visit_at == now - datetime.timedelta(minutes=1)
    day = timezone.localdate() + datetime.timedelta(days=7)
    assert listed(grid1, day)[household.pk][1] == 0


def test_a_move_recounts_both_households(persona):
    grid1, district1 = persona("grid1"), persona("district1")
    old, (alone, _) = household_with(grid1, {"tags": ["独居老人"], "age": 70}, {"age": 40})
    new, _ = household_with(grid1, {"age": 30})
    assert HouseholdDue.objects.get(household=old).interval_days == 7
    registry_services.resident_change_dwelling(
        actor=grid1, resident=alone, household=new, occurred_on=timezone.localdate().isoformat()
    )
    assert HouseholdDue.objects.get(household=old).interval_days == 90
    assert HouseholdDue.objects.get(household=new).interval_days == 7
    day = timezone.localdate() + datetime.timedelta(days=7)
    assert listed(district1, day) == counted_live(district1, day)


def test_many_households_at_once_are_counted_in_the_background(
    persona, monkeypatch, django_capture_on_commit_callbacks
):
    grid1 = persona("grid1")
    households = [household_with(grid1, {"tags": ["独居老人"], "age": 70})[0] for _ in range(3)]
    ids = {h.pk for h in households}
    monkeypatch.setattr(due, "COUNT_NOW_MAX", 2)
    with django_capture_on_commit_callbacks() as callbacks:
        due.on_households_changed(Household, household_ids=ids)
    assert not HouseholdDue.objects.filter(household_id__in=ids).exists()
    assert len(callbacks) == 1  # the sweep is enqueued for after the commit
    assert due.household_due_sweep() >= 3
    assert set(HouseholdDue.objects.filter(household_id__in=ids).values_list("interval_days", flat=True)) == {7}


def test_a_ledger_import_recounts_the_households_it_changes(persona, tmp_path):
    from minqing.areas.models import Area
    from minqing.registry.ledger.importer import plan_import, write_plan
    from minqing.registry.ledger.reader import read_sheet
    from minqing.registry.models import Resident
    from minqing.registry.tests.ledger_files import id_number, write_csv

    admin1, district1 = persona("admin1"), persona("district1")
    community = Area.objects.get(code="150603001001")
    number = id_number("19500302", 1)

    def import_with(tags: str) -> None:
        path = write_csv(tmp_path / f"{tags}.csv", ["姓名", "身份证号码", "现住址", "人员类别"], [
            ["张杰", number, "嘉和苑1号楼1单元101室", tags],
        ])  # fmt: skip
        write_plan(
            plan_import(actor=admin1, community=community, sheet=read_sheet(path)), actor=admin1, community=community
        )

    import_with("独居老人")
    household = Resident.objects.get(name="张杰", status="active").household
    assert HouseholdDue.objects.get(household=household).interval_days == 7
    import_with("低保")
    assert HouseholdDue.objects.get(household=household).interval_days == 30
    day = timezone.localdate() + datetime.timedelta(days=30)
    assert listed(district1, day)[household.pk][0] == 30
    assert listed(district1, day) == counted_live(district1, day)


def test_the_scheduler_command_counts_what_has_no_row_yet(persona):
    from io import StringIO

    from django.core.management import call_command

    household, _ = household_with(persona("grid1"), {"tags": ["独居老人"], "age": 70})
    HouseholdDue.objects.filter(household=household).delete()
    out = StringIO()
    call_command("visits_sweep", stdout=out)
    assert "应走访日期已更新" in out.getvalue()
    assert HouseholdDue.objects.get(household=household).interval_days == 7
