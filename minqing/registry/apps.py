from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """一人一档: residents, households and their documents."""

    name = "minqing.registry"
    label = "registry"
    verbose_name = "registry"
