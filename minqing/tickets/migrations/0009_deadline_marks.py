# The sweep's 临期 / 超期 marks move from two columns of tickets_ticket to a table of their own: writing
# ~70,000 marks as new versions of the wide, 21-times-indexed ticket rows took 37 s (bench/RESULTS.md).

import django.db.models.deletion
from django.db import migrations, models

# Plain SQL, the same on SQLite and PostgreSQL: one statement per kind whatever the table's size.
COPY = [
    "INSERT INTO tickets_deadlinemark (ticket_id, kind, at) "
    "SELECT id, 'due_soon', warned_at FROM tickets_ticket WHERE warned_at IS NOT NULL",
    "INSERT INTO tickets_deadlinemark (ticket_id, kind, at) "
    "SELECT id, 'overdue', overdue_at FROM tickets_ticket WHERE overdue_at IS NOT NULL",
]
COPY_BACK = [
    "UPDATE tickets_ticket SET warned_at = (SELECT m.at FROM tickets_deadlinemark m "
    "WHERE m.ticket_id = tickets_ticket.id AND m.kind = 'due_soon') "
    "WHERE id IN (SELECT ticket_id FROM tickets_deadlinemark WHERE kind = 'due_soon')",
    "UPDATE tickets_ticket SET overdue_at = (SELECT m.at FROM tickets_deadlinemark m "
    "WHERE m.ticket_id = tickets_ticket.id AND m.kind = 'overdue') "
    "WHERE id IN (SELECT ticket_id FROM tickets_deadlinemark WHERE kind = 'overdue')",
]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_figures_cube")]

    operations = [
        migrations.CreateModel(
            name="DeadlineMark",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "ticket_id", "kind", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("kind", models.CharField(choices=[("due_soon", "临期"), ("overdue", "超期")], max_length=20)),
                ("at", models.DateTimeField()),
                (
                    "ticket",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deadline_marks",
                        to="tickets.ticket",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(COPY, COPY_BACK, elidable=True),
        migrations.RemoveField(model_name="ticket", name="overdue_at"),
        migrations.RemoveField(model_name="ticket", name="warned_at"),
    ]
