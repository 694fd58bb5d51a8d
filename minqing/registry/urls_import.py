"""Ledger imports (pages)."""

from django.urls import path

from minqing.registry import views_import as views

app_name = "ledger"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/progress/", views.import_progress, name="progress"),
    path("<int:pk>/commit/", views.import_commit, name="commit"),
    path("<int:pk>/errors.xlsx", views.import_errors, name="errors"),
    path("<int:pk>/report.json", views.import_report, name="report"),
]
