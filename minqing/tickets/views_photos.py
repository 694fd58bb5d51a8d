"""Demand photos for signed-in users: served by this view only (never as public files), and only for
a demand the user may see (tickets_visible_to); out of scope is the same 404 as a missing photo."""

from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from minqing.core.errors import NotFound
from minqing.core.photos import photo_file
from minqing.tickets.models import TicketAttachment
from minqing.tickets.selectors import tickets_visible_to


@login_required
@never_cache
@require_GET
def photo(request, pk: int, kind: str = "image"):
    found = TicketAttachment.objects.filter(pk=pk, ticket__in=tickets_visible_to(request.user)).first()
    if found is None:
        raise NotFound()
    return photo_file(found, kind)
