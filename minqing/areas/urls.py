from django.urls import path

from minqing.areas import views

app_name = "areas"

urlpatterns = [
    path("", views.tree, name="tree"),
    path("area/<int:pk>/", views.area_detail, name="area_detail"),
    path("area/<int:pk>/new/", views.area_create, name="area_create"),
    path("area/<int:pk>/edit/", views.area_edit, name="area_edit"),
    path("area/<int:pk>/boundary/", views.area_boundary, name="area_boundary"),
    path("area/<int:pk>/move/", views.area_move, name="area_move"),
    path("area/<int:pk>/retire/", views.area_retire, name="area_retire"),
    path("estates/", views.estates, name="estates"),
    path("estates/new/", views.estate_create, name="estate_create"),
    path("estates/<int:pk>/", views.estate_detail, name="estate_detail"),
    path("estates/<int:pk>/edit/", views.estate_edit, name="estate_edit"),
    path("estates/<int:pk>/retire/", views.estate_retire, name="estate_retire"),
    path("estates/<int:pk>/buildings/new/", views.building_create, name="building_create"),
    path("buildings/<int:pk>/", views.building_detail, name="building_detail"),
    path("buildings/<int:pk>/edit/", views.building_edit, name="building_edit"),
    path("buildings/<int:pk>/move/", views.building_move, name="building_move"),
    path("buildings/<int:pk>/retire/", views.building_retire, name="building_retire"),
    path("buildings/<int:pk>/units/new/", views.unit_create, name="unit_create"),
    path("buildings/<int:pk>/dwellings/new/", views.dwelling_create, name="dwelling_create"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/retire/", views.unit_retire, name="unit_retire"),
    path("dwellings/<int:pk>/", views.dwelling_detail, name="dwelling_detail"),
    path("dwellings/<int:pk>/edit/", views.dwelling_edit, name="dwelling_edit"),
    path("dwellings/<int:pk>/retire/", views.dwelling_retire, name="dwelling_retire"),
]
