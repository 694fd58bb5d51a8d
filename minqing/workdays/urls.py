from django.urls import path

from minqing.workdays import views

app_name = "workdays"
urlpatterns = [
    path("", views.calendar_page, name="calendar"),
    path("confirm/", views.confirm_year, name="confirm"),
]
