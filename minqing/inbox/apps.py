from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "minqing.inbox"
    verbose_name = "站内消息"
