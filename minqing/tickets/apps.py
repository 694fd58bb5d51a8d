from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "minqing.tickets"
    verbose_name = "诉求清单账"
