"""走访 (pages)."""

from django.urls import path

from minqing.visits import views, views_kpis, views_rules

app_name = "visits"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("new/", views.visit_new, name="new"),
    path("export/", views.visit_export, name="export"),
    path("kpis/", views_kpis.kpi_table, name="kpis"),
    path("kpis/xlsx/", views_kpis.kpi_xlsx, name="kpis_xlsx"),
    path("rules/", views_rules.rules, name="rules"),
    path("rules/reset/", views_rules.rule_reset, name="rule_reset"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/thumb/", views.photo, {"kind": "thumb"}, name="photo_thumb"),
]
