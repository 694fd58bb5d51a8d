"""What the figures pages (诉求统计, 走访统计) share: a table of rows and a 合计 row, each column a
(heading, value of a row, kind), shown as text on the page and as numbers in the .xlsx.

Kinds: "count"; "rate", a share from 0 to 1; "percent", a share already × 100; "hours". A value of
None is "—": no denominator, never a made-up 0 % or 100 %."""

import io
from collections.abc import Callable
from functools import wraps

import xlsxwriter
from django.contrib.auth.decorators import login_required

from minqing.accounts.roles import has_capability
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.core.forms import form_error


def figures_page(capability: str):
    """The role gate of a figures page: signed in, and holding `capability` (403 otherwise)."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_capability(request.user, capability):
                raise PermissionDenied()
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def figures_table(form, compute: Callable):
    """compute(**form.values()) for a valid form, or None with the error shown next to its field."""
    if not form.is_valid():
        return None
    try:
        return compute(**form.values())
    except ApplicationError as exc:
        form_error(form, exc)
        return None


def cell_text(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "hours":
        return f"{value:.1f}"
    return str(value)


def figures_context(request, form, table, columns, dimensions: dict) -> dict:
    """What a figures page's template shows: the form, the headings, the rows and the 合计 as text
    (none when the form was refused), and the query the .xlsx button sends again."""
    rows = []
    if table is not None:
        rows = [
            {
                "label": row.label,
                "total": row is table.total,
                "cells": [(heading, cell_text(value_of(row), kind)) for heading, value_of, kind in columns],
            }
            for row in [*table.rows, table.total]
        ]
    return {
        "form": form,
        "table": table,
        "headings": [heading for heading, _v, _k in columns],
        "dimension_label": dimensions[table.dimension] if table is not None else "",
        "rows": rows,
        "query": request.GET.urlencode(),
    }


def figures_xlsx(table, columns, *, sheet: str, title: str, dimension: str, first_width: int = 22) -> bytes:
    """The table as the page shows it, rates as percentages Excel can compute with."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    ws = workbook.add_worksheet(sheet)
    head = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    pct = workbook.add_format({"num_format": "0.0%"})
    hours = workbook.add_format({"num_format": "0.0"})
    bold = workbook.add_format({"bold": True})
    ws.write_string(0, 0, title, bold)
    ws.write_string(1, 0, dimension, head)
    ws.set_column(0, 0, first_width)
    for col, (heading, _value, _kind) in enumerate(columns, start=1):
        ws.write_string(1, col, str(heading), head)
        ws.set_column(col, col, 12)
    for r, row in enumerate([*table.rows, table.total], start=2):
        ws.write_string(r, 0, row.label, bold if row is table.total else None)
        for col, (_heading, value_of, kind) in enumerate(columns, start=1):
            value = value_of(row)
            if value is None:
                ws.write_string(r, col, "—")
            elif kind == "percent":
                ws.write_number(r, col, value / 100, pct)
            else:
                ws.write_number(r, col, value, pct if kind == "rate" else hours if kind == "hours" else None)
    workbook.close()
    return output.getvalue()
