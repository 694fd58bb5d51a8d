from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "minqing.visits"
    verbose_name = "走访"

    def ready(self):
        from minqing.registry import signals
        from minqing.visits import due

        signals.households_changed.connect(due.on_households_changed, dispatch_uid="visits.due.households")
        signals.communities_changed.connect(due.on_communities_changed, dispatch_uid="visits.due.communities")
