"""Background work of the care plan: counting the kept due dates (visits.due) that a change of rules,
thresholds or many households dropped, and those an age threshold makes stale; enqueued on commit by
those changes and run by the deployment's scheduler (`manage.py visits_sweep`). Safe to run twice at
once: a count skips households another holds."""

from django.tasks import task

from minqing.visits import due


@task
def household_due_sweep_task() -> int:
    return due.household_due_sweep()
