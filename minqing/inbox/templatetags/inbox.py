from django import template

from minqing.inbox.selectors import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread(context) -> int:
    """The unread count for the nav badge: one indexed count per page (inbox_unread)."""
    request = context.get("request")
    return unread_count(getattr(request, "user", None)) if request is not None else 0
