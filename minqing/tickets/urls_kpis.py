"""The figures page (tickets/kpis/) and the demand-list export (tickets/export/)."""

from django.urls import path

from minqing.tickets import views_kpis

app_name = "ticket_kpis"
urlpatterns = [
    path("", views_kpis.kpi_table, name="table"),
    path("xlsx/", views_kpis.kpi_xlsx, name="xlsx"),
]
# Included at tickets/export/ by minqing/urls.py.
export_patterns = ([path("", views_kpis.ticket_export, name="export")], "ticket_export")
