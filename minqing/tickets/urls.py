"""Demands (pages)."""

from django.urls import path

from minqing.tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_create, name="create"),
    path("bulk/", views.ticket_bulk, name="bulk"),
    path("replies/", views.reply_list, name="replies"),
    path("replies/new/", views.reply_create, name="reply_create"),
    path("replies/<int:pk>/retire/", views.reply_retire, name="reply_retire"),
    path("<str:number>/", views.ticket_detail, name="detail"),
    path("<str:number>/<slug:action>/", views.ticket_step, name="step"),
]
