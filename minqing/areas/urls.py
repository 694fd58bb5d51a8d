from django.urls import path

from minqing.areas import views

app_name = "areas"

urlpatterns = [
    path("", views.tree, name="tree"),
    path("area/<int:pk>/", views.area_detail, name="area_detail"),
    path("estates/", views.estates, name="estates"),
    path("buildings/<int:pk>/", views.building_detail, name="building_detail"),
    path("dwellings/<int:pk>/", views.dwelling_detail, name="dwelling_detail"),
]
