"""Background work of the demands: the deadline sweep (临期 / 超期, late 吹哨 check-ins) and the
refresh of the figures' cube (the past months a step touched since the last run), enqueued by the
deployment's scheduler (cron or a systemd timer running `manage.py tickets_sweep`, or these tasks every
few minutes; safe to run twice at once: each mark is set only where it is still empty); and the
recount of the deadlines marked 临时, enqueued by the calendar's services when a day or a year is
entered."""

from django.tasks import task

from minqing.tickets import services


@task
def deadline_sweep_task() -> dict:
    return {**services.deadline_sweep(), "whistles_late": services.whistle_sweep()}


@task
def figures_refresh_task() -> list[str]:
    return [month.isoformat() for month in services.ticket_figures_refresh()]


@task
def provisional_deadlines_recount_task() -> int:
    return services.provisional_deadlines_recount()
