from minqing.tickets.lifecycle import Status
from minqing.tickets.models import Ticket


def test_the_demo_has_demands_in_every_state_each_with_its_timeline(db):
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
    for ticket in Ticket.objects.all():
        actions = list(ticket.events.values_list("action", flat=True))
        assert actions[0] == "register" and ticket.number.startswith("MQ")
    reopened = Ticket.objects.get(status=Status.REOPENED)
    assert reopened.rating == "unsatisfied"
    assert Ticket.objects.get(status=Status.MERGED).merged_into.status == Status.REGISTERED
