"""Writes of the inbox. `notify_many` is called by other apps' services inside their own transaction
(a notification is data of the step, not a message sent out: an SMS or WeChat channel would read the
rows after commit)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from minqing.core.errors import NotFound
from minqing.inbox.models import Notification


@dataclass(frozen=True)
class Draft:
    recipient_id: int
    kind: str
    title: str
    body: str = ""
    ticket_id: int | None = None


@transaction.atomic
def notify_many(drafts: Iterable[Draft], *, now=None, batch_size: int = 2000) -> int:
    """Write the notifications in batches; the same (recipient, kind, demand) given twice in one call is
    written once (a supervisor who is also the unit's account is told once). Returns the count."""
    now = now or timezone.now()
    seen: set[tuple[int, str, int | None]] = set()
    rows = []
    for d in drafts:
        key = (d.recipient_id, d.kind, d.ticket_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            Notification(
                recipient_id=d.recipient_id,
                kind=d.kind,
                ticket_id=d.ticket_id,
                title=d.title[:200],
                body=d.body,
                created_at=now,
            )
        )
    Notification.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)


@transaction.atomic
def notification_mark_read(*, user, pk) -> Notification:
    """Mark one of the user's own notifications read; another's answers NotFound like a missing one.
    (No audit row: reading one's own messages changes no one's data.)"""
    try:
        found = Notification.objects.select_related("ticket").get(recipient=user, pk=int(pk))
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if found.read_at is None:
        found.read_at = timezone.now()
        found.save(update_fields=["read_at"])
    return found


@transaction.atomic
def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
