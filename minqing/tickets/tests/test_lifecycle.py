"""The lifecycle through the service: every step from every state by every kind of actor. Where the
table allows it the demand moves and one event is written; where it does not, a clear error comes back
and nothing changes. A few rules from the issue are also stated outright, independent of the table."""

import datetime
import itertools
import zoneinfo

import pytest
from django.db import transaction
from django.utils import timezone

from minqing.accounts.models import Department
from minqing.accounts.roles import Role
from minqing.areas.models import Dwelling
from minqing.tickets import lifecycle, selectors, services
from minqing.tickets.lifecycle import ACTIONS, PREVIOUS, Status, TransitionError
from minqing.tickets.models import Category, DeadlineMark, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# One actor per kind, all inside 嘉和社区 where the demand is.
ACTORS = {
    Role.GRID_WORKER: "grid1",
    Role.LIAISON: "liaison1",
    Role.COMMUNITY_STAFF: "staff1",
    Role.COMMUNITY_ADMIN: "admin1",
    Role.SUBDISTRICT_STAFF: "street1",
    Role.DEPARTMENT: "dept1",
    Role.DISTRICT_STAFF: "district1",
}


def leaf(name="下水堵塞") -> Category:
    return Category.objects.get(name=name)


def new_ticket(persona, **kw) -> Ticket:
    liaison = persona("liaison1")
    return services.ticket_create(
        actor=persona("staff1"),
        category=leaf(),
        channel="desk",
        description="3号楼下水道堵塞，污水外溢",
        dwelling=liaison.dwellings.first().pk,
        **kw,
    )


def params_for(action: str, persona, ticket: Ticket) -> dict:
    dept = persona("dept1").department
    if action == "dispatch":
        return {"department": dept.pk}
    if action == "whistle":
        return {"departments": [dept.pk]}
    if action == "merge":
        return {"into": new_ticket(persona).number}
    if action == "evaluate":
        return {"rating": services.SATISFIED}
    if action == "reroute":
        return {"department": persona("dept2").department_id}  # put_in gave it to dept1's unit
    if action == "recategorise":
        return {"category": leaf("楼道堆物").pk}
    return {}


def put_in(ticket: Ticket, status: str, persona) -> None:
    """Force a state for the walk (the department linked, as the states imply)."""
    fields = {"status": status, "department": persona("dept1").department}
    if status == Status.SUSPENDED:
        fields["status_before_suspension"] = Status.IN_PROGRESS
        fields["suspended_at"] = timezone.now()
    if status in (Status.CLOSED, Status.EVALUATED):
        fields["closed_at"] = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    if status == Status.WHISTLED:
        services.Whistle.objects.get_or_create(
            ticket=ticket, department=persona("dept1").department, defaults={"check_in_due_at": timezone.now()}
        )


class _Undo(Exception):
    pass


@pytest.mark.parametrize("status", Status.values)
def test_every_step_from_this_state_by_every_role(persona, status):
    """All 19 steps × 7 roles from one state; each attempt in a savepoint that is rolled back."""
    ticket = new_ticket(persona)
    put_in(ticket, status, persona)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    actors = {role: persona(name) for role, name in ACTORS.items()}
    for action, role in itertools.product(ACTIONS, ACTORS):
        actor = actors[role]
        step = ACTIONS[action]
        allowed = status in step.sources and role in step.actors
        case = f"{status}/{action}/{role}"
        try:
            with transaction.atomic():
                params = params_for(action, persona, ticket)
                if not allowed:
                    with pytest.raises(TransitionError) as refused:
                        services.ticket_act(actor=actor, number=ticket.number, action=action, note="说明", **params)
                    assert refused.value.message, case
                    ticket.refresh_from_db()
                    assert ticket.status == status, case
                    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before, case
                    raise _Undo
                services.ticket_act(actor=actor, number=ticket.number, action=action, note="说明", **params)
                ticket.refresh_from_db()
                expected = status if step.target is None else step.target
                if step.target == PREVIOUS:
                    expected = Status.IN_PROGRESS  # where put_in suspended it
                assert ticket.status == expected, case
                event = TicketEvent.objects.filter(ticket=ticket).latest("pk")
                assert (event.action, event.from_status, event.to_status, event.actor_id) == (
                    action,
                    status,
                    expected,
                    actor.pk,
                ), case
                raise _Undo
        except _Undo:
            pass


def test_rules_the_issue_states_outright(persona):
    ticket = new_ticket(persona)
    dept, liaison, staff = persona("dept1"), persona("liaison1"), persona("staff1")
    with pytest.raises(TransitionError):
        services.ticket_act(actor=liaison, number=ticket.number, action="accept")  # liaisons report, not accept
    with pytest.raises(TransitionError) as refused:
        services.ticket_act(actor=staff, number=ticket.number, action="reject")  # a reason is required
    assert refused.value.field == "note"
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(actor=staff, number=ticket.number, action="dispatch", department=dept.department_id)
    with pytest.raises(TransitionError):
        services.ticket_act(actor=dept, number=ticket.number, action="close")  # only staff 销号
    services.ticket_act(actor=dept, number=ticket.number, action="return", note="不属于供电职责")
    ticket.refresh_from_db()
    assert ticket.status == Status.RETURNED
    notes = list(ticket.events.values_list("action", "note"))
    assert ("return", "不属于供电职责") in notes


def test_an_unsatisfied_rating_within_seven_days_reopens(persona):
    ticket = new_ticket(persona)
    staff = persona("staff1")
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(actor=staff, number=ticket.number, action="handle", note="已疏通")
    services.ticket_act(actor=staff, number=ticket.number, action="close")
    services.ticket_act(
        actor=lifecycle.RESIDENT, number=ticket.number, action="evaluate", rating=services.UNSATISFIED, comment="还堵"
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.REOPENED and ticket.rating == services.UNSATISFIED
    assert list(ticket.events.values_list("action", flat=True))[-2:] == ["evaluate", "reopen"]


def test_numbers_follow_the_day_of_receipt_and_count_up(persona):
    first = new_ticket(persona, received_at=datetime.datetime(2025, 10, 31, 9, 0, tzinfo=SHANGHAI))
    second = new_ticket(persona, received_at=datetime.datetime(2025, 10, 31, 18, 0, tzinfo=SHANGHAI))
    assert first.number == "MQ20251031-0001" and second.number == "MQ20251031-0002"


def test_deadlines_count_from_receipt_on_the_working_day_calendar(persona):
    ticket = new_ticket(persona, received_at=datetime.datetime(2025, 9, 30, 16, 0, tzinfo=SHANGHAI))
    assert timezone.localtime(ticket.finish_due_at).date() == datetime.date(2025, 10, 14)  # 5 working days
    assert ticket.accept_due_at - ticket.received_at == datetime.timedelta(hours=24)
    with pytest.raises(services.ApplicationError) as refused:
        new_ticket(persona, received_at=timezone.now() + datetime.timedelta(hours=1))
    assert refused.value.field == "received_at"


def test_a_department_sees_only_what_was_sent_to_it(persona):
    from minqing.tickets.selectors import tickets_visible_to

    ticket = new_ticket(persona)
    dept = persona("dept1")
    assert not tickets_visible_to(dept).filter(pk=ticket.pk).exists()
    staff = persona("staff1")
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(
        actor=staff, number=ticket.number, action="whistle", note="联合处置", departments=[dept.department_id]
    )
    assert tickets_visible_to(dept).filter(pk=ticket.pk).count() == 1
    assert not tickets_visible_to(persona("dept2")).filter(pk=ticket.pk).exists()
    other = Dwelling.objects.exclude(pk__in=persona("liaison1").dwellings.values("pk")).first()
    assert other is not None and Department.objects.exists()


def test_the_documented_lifecycle_is_the_table():
    from django.conf import settings

    written = (settings.BASE_DIR / "docs" / "tickets-lifecycle.md").read_text(encoding="utf-8")
    assert written == lifecycle.docs(), "docs/tickets-lifecycle.md is stale: regenerate it (command in the file)"


def test_the_sweep_marks_due_soon_and_overdue_once_and_skips_suspended(persona):
    staff = persona("staff1")
    received = timezone.now() - datetime.timedelta(days=30)
    late = new_ticket(persona, received_at=received)
    suspended = new_ticket(persona, received_at=received)
    services.ticket_act(actor=staff, number=suspended.number, action="accept")
    services.ticket_act(actor=staff, number=suspended.number, action="suspend", note="等待业主回家")
    soon = new_ticket(persona)
    Ticket.objects.filter(pk=soon.pk).update(finish_due_at=timezone.now() + datetime.timedelta(hours=3))
    fresh = new_ticket(persona)
    counts = services.deadline_sweep()
    assert counts["overdue"] >= 1 and counts["due_soon"] >= 1
    marked = {
        t.number: (t.overdue_at is not None, t.warned_at is not None)
        for t in selectors.with_deadline_marks(Ticket.objects.all())
    }
    assert marked[late.number] == (True, False)
    assert marked[suspended.number] == (False, False)
    assert marked[soon.number] == (False, True)
    assert marked[fresh.number] == (False, False)
    assert services.deadline_sweep() == {"overdue": 0, "due_soon": 0}  # once each
    # No event row per demand: the timeline shows the mark as an internal system entry at its time.
    assert not late.events.filter(action__in=["overdue", "due_soon"]).exists()
    shown = selectors.ticket_page(staff, late.number).events
    assert [e.action for e in shown] == ["register", "overdue"]
    marked = DeadlineMark.objects.get(ticket=late, kind="overdue").at
    assert (shown[-1].at, shown[-1].public, shown[-1].actor_label) == (marked, False, "系统")
    assert shown[-1].to_status == Status.REGISTERED
    assert [e.action for e in selectors.ticket_page(staff, soon.number).events] == ["register", "due_soon"]


def test_a_moved_deadline_keeps_the_overdue_mark_on_the_timeline_and_can_be_marked_again(persona):
    staff = persona("staff1")
    ticket = new_ticket(persona)
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(actor=staff, number=ticket.number, action="dispatch", department=persona("dept1").department_id)
    Ticket.objects.filter(pk=ticket.pk).update(finish_due_at=timezone.now() - datetime.timedelta(hours=1))
    services.deadline_sweep()
    marked = DeadlineMark.objects.get(ticket=ticket, kind="overdue").at
    services.ticket_act(
        actor=staff,
        number=ticket.number,
        action="reroute",
        note="不归供电",
        department=persona("dept2").department_id,
        restart_deadline=True,
    )
    ticket.refresh_from_db()
    assert not ticket.deadline_marks.exists() and ticket.finish_due_at > timezone.now()  # to be told again in time
    kept = ticket.events.get(action="overdue")
    assert (kept.at, kept.public, kept.to_status) == (marked, False, Status.DISPATCHED)
    steps = [e.action for e in selectors.ticket_page(staff, ticket.number).events]
    assert steps == ["register", "accept", "dispatch", "overdue", "reroute"]  # once, where it happened
    # Late again under the new deadline: a second 超期, after the reroute.
    Ticket.objects.filter(pk=ticket.pk).update(finish_due_at=timezone.now() - datetime.timedelta(minutes=1))
    services.deadline_sweep()
    steps = [e.action for e in selectors.ticket_page(staff, ticket.number).events]
    assert steps == ["register", "accept", "dispatch", "overdue", "reroute", "overdue"]


def test_suspension_stops_the_clock(persona):
    ticket = new_ticket(persona, received_at=datetime.datetime(2025, 9, 1, 9, 0, tzinfo=SHANGHAI))
    assert timezone.localdate(ticket.finish_due_at) == datetime.date(2025, 9, 8)  # 5 working days after Mon 1 Sep
    # Suspended on Wednesday 3 September, resumed on Monday 8: Thu 4, Fri 5 and Mon 8 were lost.
    ticket.suspended_at = datetime.datetime(2025, 9, 3, 10, 0, tzinfo=SHANGHAI)
    services._extend_for_suspension(ticket, datetime.datetime(2025, 9, 8, 9, 0, tzinfo=SHANGHAI))
    assert timezone.localdate(ticket.finish_due_at) == datetime.date(2025, 9, 11)
    # A suspension within one day moves nothing.
    ticket.suspended_at = datetime.datetime(2025, 9, 10, 9, 0, tzinfo=SHANGHAI)
    services._extend_for_suspension(ticket, datetime.datetime(2025, 9, 10, 17, 0, tzinfo=SHANGHAI))
    assert timezone.localdate(ticket.finish_due_at) == datetime.date(2025, 9, 11)
