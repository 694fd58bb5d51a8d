"""The deadline sweep beside a step that moves the deadline, on two connections (PostgreSQL): the
sweep waits for the step's commit and reads the new deadline, so a demand rerouted with a fresh
deadline is not marked 超期 again from the old one (services._lock_marks)."""

import pytest
from django.db import connection

from minqing.api.tests.support import shell_json

SCRIPT = """
import datetime
import threading
import time

from django.db import connection, transaction
from django.utils import timezone

from minqing.accounts.models import User
from minqing.tickets import services
from minqing.tickets.models import Category, DeadlineMark, Ticket

staff, liaison = User.objects.get(username="staff1"), User.objects.get(username="liaison1")
ticket = services.ticket_create(
    actor=staff, category=Category.objects.get(name="下水堵塞"), channel="desk",
    description="3号楼下水道堵塞，污水外溢", dwelling=liaison.dwellings.first().pk,
)
services.ticket_act(actor=staff, number=ticket.number, action="accept")
dept1, dept2 = (User.objects.get(username=u).department_id for u in ("dept1", "dept2"))
services.ticket_act(actor=staff, number=ticket.number, action="dispatch", department=dept1)
Ticket.objects.filter(pk=ticket.pk).update(finish_due_at=timezone.now() - datetime.timedelta(hours=1))
services.deadline_sweep()
marked_before = DeadlineMark.objects.filter(ticket=ticket, kind="overdue").exists()
held = threading.Event()


def reroute():
    # The step, held open a moment after it moved the deadline and cleared the mark.
    with transaction.atomic():
        services.ticket_act(
            actor=staff, number=ticket.number, action="reroute", note="不归供电",
            department=dept2, restart_deadline=True,
        )
        held.set()
        time.sleep(2)
    connection.close()


step = threading.Thread(target=reroute)
step.start()
held.wait(60)
started = time.monotonic()
services.deadline_sweep()
waited = time.monotonic() - started
step.join()
ticket.refresh_from_db()
emit({
    "marked_before": marked_before,
    "waited": waited,
    "in_future": ticket.finish_due_at > timezone.now(),
    "marks_after": list(DeadlineMark.objects.filter(ticket=ticket).values_list("kind", flat=True)),
})
"""


def test_a_sweep_during_a_step_that_moves_the_deadline_reads_the_new_deadline(live_app):
    if connection.vendor != "postgresql":
        pytest.skip("table locks are PostgreSQL's; SQLite has one writer at a time")
    seen = shell_json(live_app, SCRIPT)
    assert seen["marked_before"] and seen["in_future"]
    assert seen["waited"] > 1  # it waited for the step's commit …
    assert seen["marks_after"] == []  # … and did not mark the demand again from the old deadline
