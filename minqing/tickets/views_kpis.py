"""The figures page (诉求统计) with its .xlsx, and the .xlsx of a filtered demand list.

Reads through tickets.kpis / tickets_visible_to (the scope rule); the role gate is the
VIEW_TICKET_KPIS capability. Exports are POSTs (each one is an audited act) carrying the filters in
the query string, as the residents' export does."""

from functools import wraps
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Capability, has_capability
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.core.forms import form_error
from minqing.tickets.export import XLSX, export_filename, export_kpis, export_tickets
from minqing.tickets.forms_kpis import KpiForm, TicketFilterForm
from minqing.tickets.kpis import COLUMNS, DIMENSIONS, cell_text, ticket_kpis
from minqing.tickets.selectors import filter_tickets, tickets_visible_to


def kpi_page(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_capability(request.user, Capability.VIEW_TICKET_KPIS):
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapper


def _attachment(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    return response


def _table(request, form):
    """The table for a valid form, or None with the error shown next to its field."""
    if not form.is_valid():
        return None
    try:
        return ticket_kpis(request.user, **form.values())
    except ApplicationError as exc:
        form_error(form, exc)
        return None


@kpi_page
@require_GET
def kpi_table(request):
    form = KpiForm(request.GET, user=request.user)  # bound even when empty: the defaults apply
    table = _table(request, form)
    rows = []
    if table is not None:
        for row in [*table.rows, table.total]:
            rows.append(
                {
                    "label": row.label,
                    "total": row is table.total,
                    "cells": [(h, cell_text(value_of(row), kind)) for h, value_of, kind in COLUMNS],
                }
            )
    context = {
        "form": form,
        "table": table,
        "headings": [heading for heading, _v, _k in COLUMNS],
        "dimension_label": DIMENSIONS[table.dimension] if table else "",
        "rows": rows,
        "query": request.GET.urlencode(),
    }
    return render(request, "tickets/kpis.html", context, status=200 if table is not None else 400)


@kpi_page
@never_cache
@require_POST
def kpi_xlsx(request):
    form = KpiForm(request.GET, user=request.user)
    table = _table(request, form)
    if table is None:
        return render(request, "tickets/kpis.html", {"form": form, "table": None, "rows": []}, status=400)
    content = export_kpis(table, viewer=request.user, request=request)
    return _attachment(content, export_filename("ticket-kpis"))


@kpi_page
@never_cache
@require_http_methods(["GET", "POST"])
def ticket_export(request):
    """GET: the filter form; POST: the demands it selects (in the user's scope) as .xlsx."""
    form = TicketFilterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # The form has already refused an end before the start.
        tickets = filter_tickets(tickets_visible_to(request.user), form.filters())
        content = export_tickets(tickets, viewer=request.user, filters=form.audit_filters(), request=request)
        return _attachment(content, export_filename("tickets"))
    status = 400 if request.method == "POST" else 200
    return render(request, "tickets/export.html", {"form": form}, status=status)
