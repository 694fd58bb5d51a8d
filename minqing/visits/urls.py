"""走访 (pages)."""

from django.urls import path

from minqing.visits import views

app_name = "visits"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("new/", views.visit_new, name="new"),
    path("export/", views.visit_export, name="export"),
]
