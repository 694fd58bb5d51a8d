# Indexes shown needed by EXPLAIN at 2,000,000 demands (bench/tickets_scale.py, bench/RESULTS.md).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_default_categories")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["status", "received_at"], name="ticket_status_received"),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(fields=["action", "ticket"], name="ticket_event_action"),
        ),
    ]
