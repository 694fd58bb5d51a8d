"""Residents, households and tags (pages)."""

from django.urls import path

from minqing.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.resident_list, name="list"),
    path("export/", views.resident_export, name="export"),
    path("new/", views.resident_create, name="create"),
    path("<int:pk>/", views.resident_detail, name="detail"),
    path("<int:pk>/edit/", views.resident_edit, name="edit"),
    path("<int:pk>/reveal/", views.resident_reveal, name="reveal"),
    path("<int:pk>/tags/", views.resident_tags, name="resident_tags"),
    path("<int:pk>/move-out/", views.resident_move_out, name="move_out"),
    path("<int:pk>/decease/", views.resident_decease, name="decease"),
    path("<int:pk>/change-dwelling/", views.resident_change_dwelling, name="change_dwelling"),
    path("<int:pk>/return/", views.resident_return, name="return"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/new/", views.tag_create, name="tag_create"),
    path("tags/<int:pk>/retire/", views.tag_retire, name="tag_retire"),
    path("tags/<int:pk>/threshold/", views.tag_threshold, name="tag_threshold"),
]
