"""Writes of the inbox. `notify_many` is called by other apps' services inside their own transaction
(a notification is data of the step, not a message sent out: an SMS or WeChat channel would read the
rows after commit)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
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
    link: str = ""  # a list page instead of one demand (the sweep's digest)


_COLUMNS = ("recipient_id", "kind", "ticket_id", "title", "body", "link", "created_at")


@transaction.atomic
def notify_many(drafts: Iterable[Draft], *, now=None, batch_size: int = 2000) -> int:
    """Write the notifications in batches; the same (recipient, kind, demand) given twice in one call is
    written once (a supervisor who is also the unit's account is told once). Returns the count.

    One multi-row INSERT per batch through the cursor: the sweep may tell tens of thousands at once,
    and bulk_create's per-value preparation cost five times the database's own work (measured with
    5,000 overdue demands, 10,000 notifications). The values are plain (ids, text, one timestamp)."""
    when = connection.ops.adapt_datetimefield_value(now or timezone.now())
    seen: set[tuple[int, str, int | None]] = set()
    rows = []
    for d in drafts:
        key = (d.recipient_id, d.kind, d.ticket_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append((d.recipient_id, str(d.kind), d.ticket_id, str(d.title)[:200], str(d.body), d.link, when))
    if not rows:
        return 0
    quote = connection.ops.quote_name
    table, columns = quote(Notification._meta.db_table), ", ".join(quote(c) for c in _COLUMNS)
    # SQLite binds at most 32,766 values per statement (999 before 3.32); stay well under both.
    step = min(
        batch_size,
        connection.features.max_query_params // len(_COLUMNS) if connection.features.max_query_params else batch_size,
    )
    one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([one] * len(chunk)),
                [value for row in chunk for value in row],
            )
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
