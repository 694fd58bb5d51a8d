"""走访统计 (visits/kpis/) with its .xlsx: the figures of visits/kpis.py for the viewer's scope (a grid
worker their grid, staff their community, …). The role gate is VIEW_VISIT_KPIS; the export is a POST
carrying the filters in the query string (an audited act), as the demands' figures page does."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from minqing.accounts.roles import Capability, has_capability
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.core.forms import form_error
from minqing.core.views import xlsx_attachment
from minqing.tickets.export import export_filename
from minqing.visits.export import export_visit_kpis
from minqing.visits.forms import VisitKpiForm
from minqing.visits.kpis import COLUMNS, DIMENSIONS, cell_text, visit_kpis


def visit_kpi_page(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_capability(request.user, Capability.VIEW_VISIT_KPIS):
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapper


def _table(request, form):
    """The table for a valid form, or None with the error shown next to its field."""
    if not form.is_valid():
        return None
    try:
        return visit_kpis(request.user, **form.values())
    except ApplicationError as exc:
        form_error(form, exc)
        return None


@visit_kpi_page
@require_GET
def kpi_table(request):
    form = VisitKpiForm(request.GET)  # bound even when empty: the defaults apply
    table = _table(request, form)
    rows = []
    if table is not None:
        for row in [*table.rows, table.total]:
            cells = [(h, cell_text(value_of(row), kind)) for h, value_of, kind in COLUMNS]
            rows.append({"label": row.label, "total": row is table.total, "cells": cells})
    context = {
        "form": form,
        "table": table,
        "headings": [heading for heading, _v, _k in COLUMNS],
        "dimension_label": DIMENSIONS[table.dimension] if table else "",
        "rows": rows,
        "query": request.GET.urlencode(),
    }
    return render(request, "visits/kpis.html", context, status=200 if table is not None else 400)


@visit_kpi_page
@never_cache
@require_POST
def kpi_xlsx(request):
    form = VisitKpiForm(request.GET)
    table = _table(request, form)
    if table is None:
        return render(request, "visits/kpis.html", {"form": form, "table": None, "rows": []}, status=400)
    content = export_visit_kpis(table, viewer=request.user, request=request)
    return xlsx_attachment(content, export_filename("visit-kpis"))
