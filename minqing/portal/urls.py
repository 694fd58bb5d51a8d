"""The residents' public portal: no account, no outside service."""

from django.urls import path

from minqing.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.file_demand, name="file"),
    path("new/buildings/", views.buildings, name="buildings"),
    path("new/challenge/<str:token>.png", views.challenge_png, name="challenge"),
    path("filed/", views.filed, name="filed"),
    path("follow/", views.follow, name="follow"),
    path("t/<str:number>/", views.ticket_detail, name="ticket"),
    path("t/<str:number>/rate/", views.rate, name="rate"),
    path("t/<str:number>/photos/<int:pk>/", views.photo, name="photo"),
    path("t/<str:number>/photos/<int:pk>/thumb/", views.photo, {"kind": "thumb"}, name="photo_thumb"),
]
