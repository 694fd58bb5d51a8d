# Indexes shown needed by EXPLAIN at 2,000,000 demands (bench/tickets_scale.py, bench/RESULTS.md).

from django.db import migrations, models

# The sweep stamps overdue_at / warned_at on up to ~100,000 demands at once. Neither column is indexed,
# so with room left on each page PostgreSQL updates the row in place (a HOT update) instead of adding
# an entry to every one of the table's ~18 indexes: 34 s → see bench/RESULTS.md at 2,000,000 demands.
# Applies to pages written from now on; an existing large table takes it with VACUUM FULL.
FILLFACTOR = "ALTER TABLE tickets_ticket SET (fillfactor = 85)"


def fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILLFACTOR)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_ticketattachment")]

    operations = [
        migrations.RunPython(fillfactor, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["status", "received_at"], name="ticket_status_received"),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(fields=["action", "ticket"], name="ticket_event_action"),
        ),
    ]
