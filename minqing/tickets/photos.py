"""Photos of a demand (checked and re-encoded by minqing.core.photos): `prepare_photos` checks the
files and the count a demand may hold before anything is written; `attachments_store` writes them
inside the caller's transaction (ticket_create, ticket_act)."""

from collections.abc import Sequence

from django.utils.translation import gettext as _

from minqing.core.photos import PreparedPhoto, photo_save
from minqing.core.photos import prepare_photos as _prepare
from minqing.tickets.models import Ticket, TicketAttachment, TicketEvent


def prepare_photos(files: Sequence, *, already: int = 0) -> list[PreparedPhoto]:
    """Check every file (and the count a demand may hold) before anything is stored."""
    return _prepare(files, already=already, too_many=_("每件诉求最多 %(max)d 张照片（已有 %(already)d 张）。"))


def attachments_store(
    *, ticket: Ticket, prepared: Sequence[PreparedPhoto], actor=None, event: TicketEvent | None = None
) -> list[TicketAttachment]:
    """Write checked photos for a demand, in the caller's transaction."""
    is_user = actor is not None and not isinstance(actor, str)
    return [
        photo_save(
            TicketAttachment(
                ticket=ticket,
                event=event,
                uploaded_by=actor if is_user else None,
                uploaded_by_label="" if is_user else _("居民"),
            ),
            photo,
        )
        for photo in prepared
    ]
