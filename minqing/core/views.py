from urllib.parse import quote

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_attachment(content: bytes, name: str) -> HttpResponse:
    """A .xlsx download; `name` is ASCII for old clients, filename* carries it for the others."""
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    return response


def healthz(request):
    """200 when the database answers a query, 503 otherwise (for the load balancer)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def not_found(request, exception=None):
    return render(request, "404.html", status=404)
