"""走访 (pages)."""

from django.urls import path

from minqing.visits import views

app_name = "visits"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("new/", views.visit_new, name="new"),
    path("export/", views.visit_export, name="export"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("photos/<int:pk>/thumb/", views.photo, {"kind": "thumb"}, name="photo_thumb"),
]
