from django.apps import AppConfig


class WorkdaysConfig(AppConfig):
    name = "minqing.workdays"
    verbose_name = "工作日历"
