"""The figures page (诉求统计) with its .xlsx, and the .xlsx of a filtered demand list.

Reads through tickets.kpis / tickets_visible_to (the scope rule); the role gate is the
VIEW_TICKET_KPIS capability. Exports are POSTs (each one is an audited act) carrying the filters in
the query string, as the residents' export does."""

from functools import partial

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Capability
from minqing.core.figures import figures_context, figures_page, figures_table
from minqing.core.views import xlsx_attachment
from minqing.tickets.export import export_filename, export_kpis, export_tickets
from minqing.tickets.forms_kpis import KpiForm, TicketFilterForm
from minqing.tickets.kpis import COLUMNS, DIMENSIONS, ticket_kpis
from minqing.tickets.selectors import filter_tickets, tickets_visible_to

kpi_page = figures_page(Capability.VIEW_TICKET_KPIS)


@kpi_page
@require_GET
def kpi_table(request):
    form = KpiForm(request.GET, user=request.user)  # bound even when empty: the defaults apply
    table = figures_table(form, partial(ticket_kpis, request.user))
    context = figures_context(request, form, table, COLUMNS, DIMENSIONS)
    return render(request, "tickets/kpis.html", context, status=200 if table is not None else 400)


@kpi_page
@never_cache
@require_POST
def kpi_xlsx(request):
    form = KpiForm(request.GET, user=request.user)
    table = figures_table(form, partial(ticket_kpis, request.user))
    if table is None:
        return render(request, "tickets/kpis.html", {"form": form, "table": None, "rows": []}, status=400)
    content = export_kpis(table, viewer=request.user, request=request)
    return xlsx_attachment(content, export_filename("ticket-kpis"))


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
        return xlsx_attachment(content, export_filename("tickets"))
    status = 400 if request.method == "POST" else 200
    return render(request, "tickets/export.html", {"form": form}, status=status)
