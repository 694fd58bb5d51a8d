"""The inbox page: each user sees their own notifications and nobody else's (another's is answered as
missing), the nav shows the unread count, and opening one marks it read and goes to the demand."""

import re

import pytest

from minqing.inbox import selectors
from minqing.inbox.models import Notification
from minqing.inbox.services import Draft, notify_many
from minqing.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(persona):
    ticket = Ticket.objects.order_by("pk").first()
    liaison, grid = persona("liaison1"), persona("grid1")
    notify_many(
        [
            Draft(liaison.pk, "handled", "您上报的诉求已办结", "已清理楼道", ticket.pk),
            Draft(liaison.pk, "closed", "您上报的诉求已销号", "", ticket.pk),
            Draft(liaison.pk, "closed", "您上报的诉求已销号", "", ticket.pk),  # the same twice: written once
            Draft(grid.pk, "overdue", "网格员的超期提醒", "", ticket.pk),
        ]
    )
    return {n.title: n for n in Notification.objects.filter(recipient__in=[liaison, grid])}


def test_a_user_sees_only_their_own_notifications(client_as, notes, persona):
    assert selectors.unread_count(persona("liaison1")) == 2
    page = client_as("liaison1").get("/inbox/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "您上报的诉求已办结" in body and "您上报的诉求已销号" in body
    assert "网格员的超期提醒" not in body
    shown = set(map(int, re.findall(r'data-notification="(\d+)"', body)))
    assert shown == {notes["您上报的诉求已办结"].pk, notes["您上报的诉求已销号"].pk}
    # The nav badge on any page carries the count.
    nav = re.search(r'data-testid="nav-inbox".*?</a>', client_as("liaison1").get("/").content.decode(), re.S)
    assert nav and ">2<" in nav.group(0)


def test_anothers_notification_is_missing_and_stays_unread(client_as, notes):
    theirs = notes["网格员的超期提醒"]
    client = client_as("liaison1")
    assert client.post(f"/inbox/{theirs.pk}/read/").status_code == 404
    assert client.post(f"/inbox/{theirs.pk}/open/").status_code == 404
    assert client.post("/inbox/987654321/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    client.post("/inbox/read-all/")
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_marks_read_and_goes_to_the_demand(client_as, notes, persona):
    note = notes["您上报的诉求已办结"]
    client = client_as("liaison1")
    answer = client.post(f"/inbox/{note.pk}/open/")
    assert answer.status_code == 302 and answer["Location"] == f"/tickets/{note.ticket.number}/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert selectors.unread_count(persona("liaison1")) == 1
    assert client.get("/inbox/?unread=1").content.decode().count("data-notification=") == 1
    client.post("/inbox/read-all/")
    assert selectors.unread_count(persona("liaison1")) == 0
    assert client.get(f"/inbox/{note.pk}/read/").status_code == 405  # a write only by POST


def test_signed_out_is_sent_to_sign_in(client):
    answer = client.get("/inbox/")
    assert answer.status_code == 302 and "/accounts/login" in answer["Location"]
