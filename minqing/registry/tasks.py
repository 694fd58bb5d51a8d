"""Background tasks of the registry: previewing and committing a large ledger import.

Arguments are ids (the worker reads the row afresh); each task is safe to run twice, because the
services claim the import by a compare-and-set on its status."""

from django.tasks import task

from minqing.registry.ledger import services


@task
def ledger_import_preview_task(ledger_import_id: int) -> None:
    services.ledger_import_preview(ledger_import_id=ledger_import_id)


@task
def ledger_import_commit_task(ledger_import_id: int, actor_id: int) -> None:
    services.ledger_import_commit(ledger_import_id=ledger_import_id, actor_id=actor_id)
