"""Who is told what (站内消息): the sweep tells the handler and the supervisor once per demand and
kind, in one message per person and run (a digest when it is more than one demand); a unit's demand
tells the unit's active accounts; dispatch, whistle, handle and close tell who
they concern, and the reporters of merged demands hear the main demand's result."""

import datetime

import pytest
from django.db.models import Q
from django.utils import timezone

from minqing.accounts.models import User
from minqing.accounts.roles import Role
from minqing.inbox.models import Notification
from minqing.tickets import services
from minqing.tickets.models import Category, Ticket

pytestmark = pytest.mark.django_db


def told(ticket, kind=None) -> list[str]:
    """Who was told of this demand: by a notification of its own or a digest naming its number."""
    qs = Notification.objects.filter(Q(ticket=ticket) | Q(ticket=None, body__contains=ticket.number))
    if kind:
        qs = qs.filter(kind=kind)
    return sorted(qs.values_list("recipient__username", flat=True))


@pytest.fixture
def told_before():
    """The demo's own late demands were told of in an earlier sweep: a sweep now is about the new ones."""
    Ticket.objects.update(warned_at=timezone.now(), overdue_at=timezone.now())


def file(persona, who="liaison1", text="楼道灯不亮", **place):
    reporter = persona(who)
    if not place:
        place = {"dwelling": reporter.dwellings.first().pk} if who == "liaison1" else {"area": reporter.area_id}
    return services.ticket_create(
        actor=reporter, category=Category.objects.get(name="路灯损坏"), channel="liaison", description=text, **place
    )


def test_the_sweep_tells_the_handler_and_the_community_head_once(persona, told_before):
    ticket = file(persona, who="grid1")
    services.ticket_act(actor=persona("grid1"), number=ticket.number, action="accept")  # grid1 handles it
    due = ticket.finish_due_at
    services.deadline_sweep(now=due - datetime.timedelta(hours=2))
    assert told(ticket, "due_soon") == ["admin1", "grid1"]
    services.deadline_sweep(now=due + datetime.timedelta(hours=1))
    services.deadline_sweep(now=due + datetime.timedelta(days=2))
    assert told(ticket, "overdue") == ["admin1", "grid1"]  # once, over two sweeps
    assert told(ticket, "due_soon") == ["admin1", "grid1"]
    note = Notification.objects.get(ticket=ticket, kind="overdue", recipient__username="grid1")
    assert ticket.number in note.title and "已超期" in note.title and note.read_at is None


def test_a_units_demand_tells_every_active_account_of_the_unit(persona, told_before):
    staff, dept1 = persona("staff1"), persona("dept1")
    colleague = User.objects.create(
        username="dept1b", display_name="李电工", role=Role.DEPARTMENT, department=dept1.department
    )
    User.objects.create(
        username="dept1-gone", display_name="离职", role=Role.DEPARTMENT, department=dept1.department, is_active=False
    )
    ticket = file(persona)
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(actor=staff, number=ticket.number, action="dispatch", department=dept1.department_id)
    assert told(ticket, "dispatched") == ["dept1", "dept1b"]
    services.deadline_sweep(now=ticket.finish_due_at + datetime.timedelta(minutes=1))
    assert told(ticket, "overdue") == ["admin1", "dept1", "dept1b"]
    assert colleague.notifications.filter(kind="overdue", ticket=ticket).count() == 1


def test_the_supervisor_follows_the_level_and_goes_up_when_nobody_is_there(persona, told_before):
    ticket = file(persona, who="grid1")
    services.ticket_act(actor=persona("grid1"), number=ticket.number, action="escalate", note="需社区协调")
    services.ticket_act(actor=persona("staff1"), number=ticket.number, action="accept")
    services.ticket_act(actor=persona("staff1"), number=ticket.number, action="escalate", note="需街道协调")
    ticket.refresh_from_db()
    assert ticket.level == "subdistrict"
    services.deadline_sweep(now=ticket.finish_due_at + datetime.timedelta(minutes=1))
    assert told(ticket, "overdue") == ["street1"]  # nobody holds it: the subdistrict's staff are told

    other = file(persona, who="grid1", text="路灯杆倾斜")
    User.objects.filter(role=Role.COMMUNITY_ADMIN, area=persona("grid1").area.parent).update(is_active=False)
    services.deadline_sweep(now=other.finish_due_at + datetime.timedelta(minutes=1))
    # Nobody holds it at grid level: the grid's worker; no active community head: the next level up.
    assert told(other, "overdue") == ["grid1", "street1"]


def test_dispatch_and_whistle_tell_who_must_act_and_handle_and_close_tell_the_reporter(persona):
    staff, grid1 = persona("staff1"), persona("grid1")
    ticket = file(persona)
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(actor=staff, number=ticket.number, action="dispatch", handler=grid1.pk)
    assert told(ticket, "dispatched") == ["grid1"]
    services.ticket_act(actor=grid1, number=ticket.number, action="start")
    services.ticket_act(
        actor=staff,
        number=ticket.number,
        action="whistle",
        note="需供电和园林到场",
        departments=[persona("dept1").department_id, persona("dept2").department_id],
    )
    assert told(ticket, "whistled") == ["dept1", "dept2"]
    services.ticket_act(actor=grid1, number=ticket.number, action="handle", note="已更换灯泡")
    assert told(ticket, "handled") == ["liaison1"]
    services.ticket_act(actor=staff, number=ticket.number, action="close")
    assert told(ticket, "closed") == ["liaison1"]
    assert "liaison1" not in told(ticket, "dispatched")
    # Nobody is told of their own step: staff filing and closing hears nothing.
    own = services.ticket_create(
        actor=staff, category=ticket.category, channel="desk", description="门厅灯不亮", area=grid1.area_id
    )
    services.ticket_act(actor=staff, number=own.number, action="accept")
    services.ticket_act(actor=staff, number=own.number, action="handle", note="已修")
    services.ticket_act(actor=staff, number=own.number, action="close")
    assert told(own) == []


def test_the_reporters_of_merged_demands_hear_the_result(persona):
    staff = persona("staff1")
    main = file(persona, text="3号楼路灯坏了")
    duplicate = file(persona, who="grid1", text="3号楼后面路灯不亮", area=persona("grid1").area_id)
    services.ticket_act(actor=staff, number=duplicate.number, action="merge", into=main.number, note="同一路灯")
    services.ticket_act(actor=staff, number=main.number, action="accept")
    services.ticket_act(actor=staff, number=main.number, action="handle", note="已更换灯具")
    assert told(main, "handled") == ["liaison1"]
    assert told(duplicate, "handled") == ["grid1"]
    note = Notification.objects.get(ticket=duplicate, kind="handled")
    assert main.number in note.title and note.body == "已更换灯具"
    result = duplicate.events.get(action="merged_result")
    assert result.public and result.to_status == "merged" and result.data == {"main": main.number, "result": "handle"}
    assert "已更换灯具" in result.note
    services.ticket_act(actor=staff, number=main.number, action="close")
    assert told(duplicate, "closed") == ["grid1"]
    assert duplicate.events.filter(action="merged_result").count() == 2


def test_a_step_that_fails_tells_nobody(persona):
    ticket = file(persona)
    with pytest.raises(services.ApplicationError):
        services.ticket_act(actor=persona("staff1"), number=ticket.number, action="whistle", note="x", departments=[])
    assert told(ticket) == []


def test_many_demands_late_at_once_are_one_message_per_person_linking_to_the_list(persona, client_as, told_before):
    """300 demands overdue overnight are one message for the grid worker and one for the community
    head — the count, the first numbers (the longest overdue first), a link to the list filtered to
    超期 — not 300; a later sweep with one more late demand tells of that one alone, linking to it."""
    filed = [file(persona, who="grid1", text=f"路灯不亮 {i}") for i in range(12)]
    for i, ticket in enumerate(filed):  # filed[11] the longest overdue
        Ticket.objects.filter(pk=ticket.pk).update(finish_due_at=timezone.now() - datetime.timedelta(hours=i + 1))
    assert services.deadline_sweep()["overdue"] == 12
    notes = Notification.objects.filter(kind="overdue")
    assert sorted(notes.values_list("recipient__username", flat=True)) == ["admin1", "grid1"]
    digest = notes.get(recipient__username="grid1")
    assert digest.title == "您有 12 件诉求已超期" and digest.ticket is None
    named = [t.number for t in reversed(filed)][:10]
    assert digest.body.startswith("、".join(named) + " 等")
    assert filed[1].number not in digest.body and filed[0].number not in digest.body  # only the first ten
    # Opening it goes to the list filtered to 超期, which holds the twelve.
    client = client_as("grid1")
    opened = client.post(f"/inbox/{digest.pk}/open/")
    assert opened.status_code == 302 and opened.url == "/tickets/?due=overdue"
    listed = client.get(opened.url).content.decode()
    assert all(t.number in listed for t in filed)
    digest.refresh_from_db()
    assert digest.read_at is not None

    one = file(persona, who="grid1", text="路灯杆倾斜")
    services.deadline_sweep(now=one.finish_due_at + datetime.timedelta(minutes=1))
    alone = Notification.objects.get(kind="overdue", recipient__username="grid1", ticket=one)
    assert alone.title == f"诉求 {one.number} 已超期" and "路灯杆倾斜" in alone.body
    assert alone.url == f"/tickets/{one.number}/"
    assert Notification.objects.filter(kind="overdue", recipient__username="grid1").count() == 2


def test_the_sweep_costs_the_same_queries_for_few_or_many(persona, django_assert_max_num_queries):
    """Set-based: per kind one UPDATE, one read of the stamped demands, the unit accounts, the grid
    workers, the supervisors, the texts of the demands told alone and the notifications — not a
    query per demand nor per person."""
    for i in range(12):
        file(persona, who="grid1", text=f"路灯不亮 {i}")

    late = max(Ticket.objects.values_list("finish_due_at", flat=True)) + datetime.timedelta(days=1)
    with django_assert_max_num_queries(20):
        counts = services.deadline_sweep(now=late)
    assert counts["overdue"] >= 12
    # One digest each to the grid's worker (nobody holds them yet) and the community head.
    for who in ("grid1", "admin1"):
        digest = Notification.objects.get(kind="overdue", recipient__username=who)
        assert digest.ticket is None and int(digest.title.split()[1]) >= 12


def test_a_unit_that_misses_its_check_in_is_told_and_so_is_the_community_once(persona):
    from minqing.tickets.models import Whistle

    staff, dept1, dept2 = persona("staff1"), persona("dept1"), persona("dept2")
    ticket = file(persona)
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    departments = [dept1.department_id, dept2.department_id]
    services.ticket_act(actor=staff, number=ticket.number, action="whistle", note="联合处置", departments=departments)
    Whistle.objects.exclude(ticket=ticket).update(late_told_at=timezone.now())  # the demo's own, told before
    services.ticket_act(actor=dept1, number=ticket.number, action="check_in")
    limit = Whistle.objects.get(ticket=ticket, department=dept2.department).check_in_due_at

    assert services.whistle_sweep(now=limit - datetime.timedelta(minutes=1)) == 0
    assert services.whistle_sweep(now=limit + datetime.timedelta(minutes=1)) == 1
    late = Notification.objects.filter(ticket=ticket, kind="overdue")
    assert sorted(late.values_list("recipient__username", flat=True)) == ["admin1", "dept2"]
    assert late.get(recipient=dept2).title == f"吹哨报到已超时：诉求 {ticket.number}"
    assert late.get(recipient__username="admin1").title == f"{dept2.department.name} 未按时报到：诉求 {ticket.number}"
    # Once: the next sweep finds nothing new.
    assert services.whistle_sweep(now=limit + datetime.timedelta(hours=5)) == 0
    assert late.count() == 2
