"""Routing that can be corrected: where a demand goes by default (the nearest area's route over the
category's default), and 改分类 / 改派 with a reason, both kept in the event, with the deadline rule
counted by hand on the 2025 working-day calendar (National Day 1–8 October off, Sunday 28 September and
Saturday 11 October worked)."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from minqing.accounts.models import Department
from minqing.areas.models import Area
from minqing.tickets import routing, services
from minqing.tickets.lifecycle import Status, TransitionError
from minqing.tickets.models import Category, CategoryRoute, Ticket

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
RECEIVED = datetime.datetime(2025, 9, 22, 9, 0, tzinfo=SHANGHAI)  # Monday
CORRECTED = datetime.datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)  # Tuesday, before the holiday


def end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=SHANGHAI)


def unit(code: str) -> Department:
    return Department.objects.get(code=code)


def area(code: str) -> Area:
    return Area.objects.get(code=code)


def test_the_nearest_areas_route_wins_over_the_category_default(persona):
    lamp = Category.objects.get(name="路灯损坏")
    lamp.default_department = unit("D-POWER")
    lamp.save(update_fields=["default_department"])
    CategoryRoute.objects.create(category=lamp, area=area("150603001"), department=unit("D-PARKS"))  # 康新街道
    CategoryRoute.objects.create(category=lamp, area=area("150603001001"), department=unit("D-PROPERTY-JH"))  # 嘉和

    assert routing.route_for(lamp, area("150603001001-G01")) == unit("D-PROPERTY-JH")  # community beats street
    assert routing.route_for(lamp, area("150603001002-G01")) == unit("D-PARKS")  # another community, same street
    assert routing.route_for(lamp, area("150603002001-G01")) == unit("D-POWER")  # no route: the default

    # Intake uses it: a demand in 嘉和's grid goes to the estate's property company.
    ticket = services.ticket_create(
        actor=persona("grid1"),
        category=lamp,
        channel="grid_patrol",
        description="路灯不亮",
        area=persona("grid1").area_id,
    )
    assert ticket.department == unit("D-PROPERTY-JH")


def test_a_leaf_without_its_own_unit_takes_its_parents_route_and_retired_units_are_skipped():
    parent = Category.objects.get(name="市政设施")
    drain = Category.objects.get(name="下水堵塞")
    CategoryRoute.objects.create(category=parent, area=area("150603001001"), department=unit("D-PROPERTY-JH"))
    assert routing.route_for(drain, area("150603001001-G02")) == unit("D-PROPERTY-JH")
    assert routing.route_for(drain, area("150603002001-G01")) is None  # nothing anywhere

    drain.default_department = unit("D-PARKS")
    drain.save(update_fields=["default_department"])
    assert routing.route_for(drain, area("150603001001-G02")) == unit("D-PARKS")  # the leaf knows better
    Department.objects.filter(code="D-PARKS").update(retired_at=timezone.now())
    assert routing.route_for(drain, area("150603001001-G02")) == unit("D-PROPERTY-JH")


@pytest.fixture
def dispatched(persona, monkeypatch):
    """A 下水堵塞 demand (5 working days) received on Monday 22 September 2025, dispatched to the power
    company by mistake; the clock then stands at Tuesday 30 September, 10:00."""
    staff = persona("staff1")
    ticket = services.ticket_create(
        actor=staff,
        category=Category.objects.get(name="下水堵塞"),
        channel="phone",
        description="单元门口下水井堵塞",
        received_at=RECEIVED,
        area=persona("grid1").area_id,
    )
    # 23, 24, 25, 26 September and the make-up Sunday 28th.
    assert ticket.finish_due_at == end_of(datetime.date(2025, 9, 28))
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(actor=staff, number=ticket.number, action="dispatch", department=unit("D-POWER").pk)
    monkeypatch.setattr(timezone, "now", lambda: CORRECTED)
    return ticket


def test_a_reroute_needs_a_reason_and_changes_nothing_without_one(persona, dispatched):
    staff = persona("staff1")
    with pytest.raises(TransitionError) as refused:
        services.ticket_act(actor=staff, number=dispatched.number, action="reroute", department=unit("D-PARKS").pk)
    assert refused.value.field == "note"
    ticket = Ticket.objects.get(pk=dispatched.pk)
    assert ticket.department == unit("D-POWER") and ticket.events.filter(action="reroute").count() == 0
    with pytest.raises(services.ApplicationError) as same:
        services.ticket_act(
            actor=staff, number=dispatched.number, action="reroute", note="改派", department=unit("D-POWER").pk
        )
    assert same.value.field == "department"
    with pytest.raises(TransitionError):  # a department cannot pass its demand on by itself
        services.ticket_act(
            actor=persona("dept1"), number=dispatched.number, action="reroute", note="不归我们", department=1
        )


def test_a_reroute_restarts_the_clock_for_the_new_unit_and_keeps_both_units(persona, dispatched):
    services.ticket_act(
        actor=persona("staff1"),
        number=dispatched.number,
        action="reroute",
        note="井属园林绿地，改派园林局",
        department=unit("D-PARKS").pk,
    )
    ticket = Ticket.objects.get(pk=dispatched.pk)
    assert ticket.status == Status.DISPATCHED and ticket.department == unit("D-PARKS")
    # Five working days from 30 September: 9, 10, 11 (make-up Saturday), 13, 14 October.
    assert ticket.finish_due_at == end_of(datetime.date(2025, 10, 14))
    assert ticket.received_at == RECEIVED and ticket.accept_due_at == RECEIVED + datetime.timedelta(hours=24)
    event = ticket.events.get(action="reroute")
    assert event.note == "井属园林绿地，改派园林局" and event.public
    assert event.data["from_department"]["name"] == "民安供电公司"
    assert event.data["to_department"]["name"] == "民安区园林局"
    assert event.data["restart_deadline"] is True
    assert event.data["from_finish_due_at"] == end_of(datetime.date(2025, 9, 28)).isoformat()
    assert event.data["to_finish_due_at"] == end_of(datetime.date(2025, 10, 14)).isoformat()
    # The old unit no longer sees it; the new one does.
    from minqing.tickets.selectors import tickets_visible_to

    assert not tickets_visible_to(persona("dept1")).filter(pk=ticket.pk).exists()
    assert tickets_visible_to(persona("dept2")).filter(pk=ticket.pk).exists()


def test_a_reroute_can_keep_the_deadline(persona, dispatched):
    services.ticket_act(
        actor=persona("staff1"),
        number=dispatched.number,
        action="reroute",
        note="改派园林局，期限不变",
        department=unit("D-PARKS").pk,
        restart_deadline=False,
    )
    ticket = Ticket.objects.get(pk=dispatched.pk)
    assert ticket.finish_due_at == end_of(datetime.date(2025, 9, 28))
    assert ticket.events.get(action="reroute").data["restart_deadline"] is False


def test_recategorising_counts_the_new_limits_from_receipt_unless_restarted(persona, dispatched):
    staff = persona("staff1")
    with pytest.raises(TransitionError):
        services.ticket_act(actor=staff, number=dispatched.number, action="recategorise", category=1)
    services.ticket_act(
        actor=staff,
        number=dispatched.number,
        action="recategorise",
        note="实为楼道堆物堵塞",
        category=Category.objects.get(name="楼道堆物").pk,
    )
    ticket = Ticket.objects.get(pk=dispatched.pk)
    assert ticket.status == Status.DISPATCHED and ticket.category.name == "楼道堆物"
    assert ticket.department == unit("D-POWER")  # dispatched: only a reroute moves it
    # 环境卫生 has 3 working days, from Monday 22 September: 23, 24, 25.
    assert ticket.finish_due_at == end_of(datetime.date(2025, 9, 25))
    event = ticket.events.get(action="recategorise")
    assert (event.data["from_category"]["name"], event.data["to_category"]["name"]) == (
        "市政设施/下水堵塞",
        "环境卫生/楼道堆物",
    )
    assert event.data["restart_deadline"] is False and not event.public

    services.ticket_act(
        actor=staff,
        number=dispatched.number,
        action="recategorise",
        note="改回市政设施：确为下水井",
        category=Category.objects.get(name="井盖缺失").pk,
        restart_deadline="true",
    )
    ticket.refresh_from_db()
    # 5 working days from 30 September: to 14 October.
    assert ticket.finish_due_at == end_of(datetime.date(2025, 10, 14))


def test_recategorising_a_demand_nobody_holds_yet_follows_the_new_route(persona):
    staff = persona("staff1")
    lamp = Category.objects.get(name="路灯损坏")
    lamp.default_department = unit("D-POWER")
    lamp.save(update_fields=["default_department"])
    ticket = services.ticket_create(
        actor=staff,
        category=Category.objects.get(name="绿化养护"),
        channel="desk",
        description="东门路灯不亮",
        area=persona("grid1").area_id,
    )
    assert ticket.department is None
    services.ticket_act(actor=staff, number=ticket.number, action="recategorise", note="是路灯问题", category=lamp.pk)
    ticket.refresh_from_db()
    assert ticket.department == unit("D-POWER") and ticket.status == Status.REGISTERED
    event = ticket.events.get(action="recategorise")
    assert event.data["from_department"] is None and event.data["to_department"]["name"] == "民安供电公司"
