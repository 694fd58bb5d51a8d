"""Reads of the inbox: a user sees their own notifications and nobody else's."""

from django.db.models import QuerySet

from minqing.inbox.models import Notification


def notifications_for(user, *, unread_only: bool = False) -> QuerySet[Notification]:
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user).select_related("ticket")
    return qs.filter(read_at__isnull=True) if unread_only else qs


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
