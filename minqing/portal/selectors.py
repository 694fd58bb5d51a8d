"""What the public portal may read: a demand only by its number together with the last four digits of
the reporter's phone, and of it only what the resident is meant to see (public steps, deadlines, the
photos given with the demand or with a public step). Never internal notes, staff names or the phone."""

import hmac

from django.db.models import Prefetch, Q, QuerySet

from minqing.areas.models import Area, AreaLevel, Building
from minqing.tickets.models import Category, Ticket, TicketAttachment, TicketEvent

# Compared against when the number is unknown, so both failures take the same path and time.
_NO_DIGITS = "\x00\x00\x00\x00"


def reporter_phone(ticket: Ticket) -> str:
    if ticket.reporter_phone:
        return ticket.reporter_phone
    resident = ticket.reporter_resident
    return (getattr(resident, "phone", "") or "") if resident is not None else ""


def ticket_for_reporter(number: str, last4: str) -> Ticket | None:
    """The demand if `last4` are the last four digits of its reporter's phone; None for an unknown
    number, a wrong phone, or a demand with no phone (the same answer for all three)."""
    number = (number or "").strip().upper()
    ticket = Ticket.objects.select_related("reporter_resident").filter(number=number).first() if number else None
    phone = reporter_phone(ticket) if ticket is not None else ""
    expected = phone[-4:] if len(phone) >= 4 else _NO_DIGITS
    given = (last4 or "").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()) or ticket is None:
        return None
    return ticket


def public_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    return (
        ticket.events.filter(public=True)
        .select_related("actor__department")
        .prefetch_related(Prefetch("attachments", queryset=TicketAttachment.objects.order_by("pk")))
    )


def public_photos_q() -> Q:
    return Q(event__isnull=True) | Q(event__public=True)


def public_photos(ticket: Ticket) -> QuerySet[TicketAttachment]:
    """The demand's own photos the resident may see: those of intake and of public steps."""
    return ticket.attachments.filter(public_photos_q())


def public_photo(ticket: Ticket, pk) -> TicketAttachment | None:
    try:
        return public_photos(ticket).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def portal_communities() -> QuerySet[Area]:
    return Area.objects.active().filter(level=AreaLevel.COMMUNITY).order_by("path")


def portal_buildings(community_id) -> QuerySet[Building]:
    """The active buildings of a community's estates, in a list a resident can read."""
    if community_id in (None, ""):
        return Building.objects.none()
    return (
        Building.objects.active()
        .filter(estate__community_id=community_id, estate__retired_at__isnull=True)
        .select_related("estate")
        .order_by("estate__name", "name", "pk")
    )


def portal_categories() -> list[tuple[str, list[tuple[int, str]]]]:
    """Active categories as (top-level name, [(id, label)]) groups: the top level itself first."""
    nodes = list(Category.objects.filter(retired_at__isnull=True).select_related("parent"))
    tops = [c for c in nodes if c.parent_id is None]
    groups = []
    for top in tops:
        children = [(c.pk, c.name) for c in nodes if c.parent_id == top.pk]
        groups.append((top.name, [(top.pk, f"{top.name}（其他）" if children else top.name), *children]))
    return groups
