from django.apps import AppConfig


class AreasConfig(AppConfig):
    name = "minqing.areas"
    label = "areas"
    verbose_name = "areas"
