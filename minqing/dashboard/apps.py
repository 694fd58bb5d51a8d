from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "minqing.dashboard"
    label = "dashboard"
    verbose_name = "dashboard"
