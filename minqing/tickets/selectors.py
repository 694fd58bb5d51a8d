"""Reads of the demands, through the one scope module."""

from django.db.models import QuerySet

from minqing.accounts import scope
from minqing.accounts.models import User
from minqing.accounts.roles import Role
from minqing.core.errors import NotFound
from minqing.tickets.models import Ticket


def tickets_visible_to(user) -> QuerySet[Ticket]:
    return Ticket.objects.filter(scope.ticket_q(user))


def access_ticket(user, number: str, *, for_update: bool = False) -> Ticket:
    """A demand by its number; missing and out of scope answer the same."""
    qs = tickets_visible_to(user)
    if for_update:
        # Lock the row itself (the scope filter may hold a subquery PostgreSQL cannot lock through).
        pk = qs.filter(number=number).values_list("pk", flat=True).first()
        if pk is None:
            raise NotFound()
        return Ticket.objects.select_for_update().get(pk=pk)
    found = qs.filter(number=number).select_related("category", "area", "department", "handler").first()
    if found is None:
        raise NotFound()
    return found


def handlers_for(user) -> QuerySet[User]:
    """Grid workers a demand may be dispatched to: those of the dispatcher's subtree."""
    return User.objects.filter(scope.user_q(user), role=Role.GRID_WORKER, is_active=True)
