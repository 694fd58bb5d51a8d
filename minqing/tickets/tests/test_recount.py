"""Deadlines counted over a year whose holiday schedule is not yet published are marked 临时; when the
district enters the schedule, they are counted again on it (issue 5, point 3)."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from minqing.tickets import services
from minqing.tickets.models import Category, TicketEvent
from minqing.workdays import services as calendar_services

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def demand(persona, category, received):
    return services.ticket_create(
        actor=persona("staff1"), category=category, channel="desk", description="小区雨污分流改造",
        received_at=datetime.datetime(*received, 10, 0, tzinfo=SHANGHAI),
    )  # fmt: skip


def due_day(ticket):
    ticket.refresh_from_db()
    return timezone.localtime(ticket.finish_due_at).date()


def test_entering_the_schedule_recounts_the_provisional_deadlines(persona):
    district = persona("district1")
    works = Category.objects.create(name="改造工程", accept_hours=24, finish_working_days=40)
    # Received Friday 2026-11-20, 40 working days: 6 in November (23–27, 30), 23 in December, then
    # 2027 on the guess — 1 January off, 4–8 and 11–15 January — and the 40th is Monday 18 January.
    long = demand(persona, works, (2026, 11, 20))
    assert (due_day(long), long.deadline_provisional) == (datetime.date(2027, 1, 18), True)
    # Five working days stay within 2026: a firm deadline, which the recount leaves alone.
    short = demand(persona, Category.objects.get(name="下水堵塞"), (2026, 11, 20))
    assert (due_day(short), short.deadline_provisional) == (datetime.date(2026, 11, 27), False)

    # The published schedule (say) gives Monday 4 January off as well: the 40th working day is the 19th.
    calendar_services.day_override_set(actor=district, day="2027-01-04", is_workday=False, note="元旦调休")
    assert services.provisional_deadlines_recount() == 1
    assert (due_day(long), long.deadline_provisional) == (datetime.date(2027, 1, 19), True)  # year not confirmed
    event = TicketEvent.objects.get(ticket=long, action="recount")
    assert event.data["from_finish_due_at"].startswith("2027-01-18T23:59:59")
    assert event.data["to_finish_due_at"].startswith("2027-01-19T23:59:59")
    assert due_day(short) == datetime.date(2026, 11, 27)

    # Confirming the year makes it firm; counted again, the date stays and no second event is written.
    calendar_services.schedule_year_confirm(actor=district, year=2027)
    assert services.provisional_deadlines_recount() == 0
    assert (due_day(long), long.deadline_provisional) == (datetime.date(2027, 1, 19), False)
    assert TicketEvent.objects.filter(ticket=long, action="recount").count() == 1


def test_the_calendar_services_leave_the_recount_to_the_background_worker(persona, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        calendar_services.day_override_set(actor=persona("district1"), day="2027-02-09", is_workday=False)
    assert DBTaskResult.objects.filter(task_path__endswith="provisional_deadlines_recount_task").count() == 1
