"""Background work of the demands: the deadline sweep (临期 / 超期) and the refresh of the figures' cube
(the past months a step touched since the last run). Enqueued by the deployment's
scheduler (cron or a systemd timer running `manage.py tickets_sweep`, or this task every few minutes);
safe to run twice at once: each mark is set only where it is still empty."""

from django.tasks import task

from minqing.tickets import services


@task
def deadline_sweep_task() -> dict:
    return services.deadline_sweep()


@task
def figures_refresh_task() -> list[str]:
    return [month.isoformat() for month in services.ticket_figures_refresh()]
