"""Demand photos (staff side); the portal serves a resident's own under /portal/."""

from django.urls import path

from minqing.tickets import views_photos

app_name = "ticket_photos"
urlpatterns = [
    path("<int:pk>/", views_photos.photo, name="image"),
    path("<int:pk>/thumb/", views_photos.photo, {"kind": "thumb"}, name="thumb"),
]
