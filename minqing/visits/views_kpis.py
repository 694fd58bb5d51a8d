"""走访统计 (visits/kpis/) with its .xlsx: the figures of visits/kpis.py for the viewer's scope (a grid
worker their grid, staff their community, …). The role gate is VIEW_VISIT_KPIS; the export is a POST
carrying the filters in the query string (an audited act), as the demands' figures page does."""

from functools import partial

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from minqing.accounts.roles import Capability
from minqing.core.figures import figures_context, figures_page, figures_table
from minqing.core.views import xlsx_attachment
from minqing.tickets.export import export_filename
from minqing.visits.export import export_visit_kpis
from minqing.visits.forms import VisitKpiForm
from minqing.visits.kpis import COLUMNS, DIMENSIONS, visit_kpis

visit_kpi_page = figures_page(Capability.VIEW_VISIT_KPIS)


@visit_kpi_page
@require_GET
def kpi_table(request):
    form = VisitKpiForm(request.GET)  # bound even when empty: the defaults apply
    table = figures_table(form, partial(visit_kpis, request.user))
    context = figures_context(request, form, table, COLUMNS, DIMENSIONS)
    return render(request, "visits/kpis.html", context, status=200 if table is not None else 400)


@visit_kpi_page
@never_cache
@require_POST
def kpi_xlsx(request):
    form = VisitKpiForm(request.GET)
    table = figures_table(form, partial(visit_kpis, request.user))
    if table is None:
        return render(request, "visits/kpis.html", {"form": form, "table": None, "rows": []}, status=400)
    content = export_visit_kpis(table, viewer=request.user, request=request)
    return xlsx_attachment(content, export_filename("visit-kpis"))
