"""The inbox page: the signed-in user's own notifications, newest first; opening one marks it read
and goes to the demand."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from minqing.core.pagination import paginate
from minqing.inbox import selectors, services

PER_PAGE = 30


@login_required
@require_GET
def inbox_list(request):
    unread_only = request.GET.get("unread") == "1"
    page = paginate(request, selectors.notifications_for(request.user, unread_only=unread_only), per_page=PER_PAGE)
    return render(
        request,
        "inbox/list.html",
        {"page": page, "unread_only": unread_only, "unread": selectors.unread_count(request.user)},
    )


@login_required
@require_POST
def notification_open(request, pk: int):
    found = services.notification_mark_read(user=request.user, pk=pk)
    return redirect(found.url or "inbox:list")


@login_required
@require_POST
def notification_read(request, pk: int):
    services.notification_mark_read(user=request.user, pk=pk)
    return redirect("inbox:list")


@login_required
@require_POST
def read_all(request):
    services.notifications_mark_all_read(user=request.user)
    return redirect("inbox:list")
