"""Background tasks through Django's task framework; the database-backed worker
(`manage.py db_worker`, django-tasks-db) runs them in production and in the demo.

The pattern for later capabilities: a module-level function decorated with `@task`, taking only
JSON-serialisable arguments (ids, not model instances: the row may change before the worker runs);
a service enqueues it with `transaction.on_commit(lambda: the_task.enqueue(...))` so the worker
never sees a change that was rolled back; a periodic sweep is enqueued by the deployment's
scheduler (cron, systemd timer) or re-enqueues itself with `.using(run_after=...)`.
Nothing here may assume it runs in the web process or on the same machine."""

from importlib import import_module

from django.conf import settings
from django.tasks import task


@task
def sessions_purge() -> None:
    """Delete expired sessions (what `manage.py clearsessions` does). The idle limit is the
    session's expiry, so expired rows are dead weight the session table would otherwise keep."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
