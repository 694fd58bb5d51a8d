# The figures' cube (tickets.kpis, docs/kpis.md "How it is computed"): whole past months per area and
# group, refreshed by services.ticket_figures_refresh from the demands whose `changed_at` moved. A month
# the cube does not hold yet is counted live until the first refresh, so the cube needs no back-fill.
# The dispatch / return flags are back-filled from the events; the covering indexes let the live part
# read the demands without visiting the wide rows.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models, transaction


BATCH = 20_000  # demands per transaction: a step on a demand waits for one batch at most, not the whole run


def flag_dispatched_and_returned(apps, schema_editor):
    Ticket, TicketEvent = apps.get_model("tickets", "Ticket"), apps.get_model("tickets", "TicketEvent")
    last = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for start in range(0, last + 1, BATCH):
        with transaction.atomic():
            batch = Ticket.objects.filter(pk__gte=start, pk__lt=start + BATCH)
            for action, flag in (("dispatch", "ever_dispatched"), ("return", "ever_returned")):
                events = TicketEvent.objects.filter(action=action, ticket_id__gte=start, ticket_id__lt=start + BATCH)
                batch.filter(pk__in=events.values("ticket_id")).update(**{flag: True})


class Migration(migrations.Migration):
    # The back-fill commits in batches (at 2,000,000 demands one UPDATE held 630,000 rows for minutes).
    atomic = False

    dependencies = [
        ("accounts", "0003_user_assignment_history"),
        ("areas", "0001_initial"),
        ("registry", "0003_resident_surname_pinyin_index"),
        ("tickets", "0007_whistle_late_told"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketFigures",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("dimension", models.CharField(max_length=12)),
                ("area_path", models.CharField(max_length=255)),
                ("key", models.CharField(blank=True, max_length=40)),
                ("received", models.PositiveIntegerField(default=0)),
                ("merged", models.PositiveIntegerField(default=0)),
                ("rejected", models.PositiveIntegerField(default=0)),
                ("accepted", models.PositiveIntegerField(default=0)),
                ("accepted_on_time", models.PositiveIntegerField(default=0)),
                ("handled", models.PositiveIntegerField(default=0)),
                ("handled_on_time", models.PositiveIntegerField(default=0)),
                ("handled_late", models.PositiveIntegerField(default=0)),
                ("handled_seconds", models.FloatField(default=0)),
                ("finished", models.PositiveIntegerField(default=0)),
                ("rated", models.PositiveIntegerField(default=0)),
                ("rated_good", models.PositiveIntegerField(default=0)),
                ("dispatched", models.PositiveIntegerField(default=0)),
                ("returned", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="TicketFiguresMonth",
            fields=[
                ("month", models.DateField(primary_key=True, serialize=False)),
                ("refreshed_at", models.DateTimeField()),
            ],
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_received",
        ),
        migrations.AddField(
            model_name="ticket",
            name="changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="ticket",
            name="ever_dispatched",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="ticket",
            name="ever_returned",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["received_at"],
                include=(
                    "id",
                    "status",
                    "area_path",
                    "area_id",
                    "category_id",
                    "channel",
                    "handler_id",
                    "department_id",
                    "accepted_at",
                    "accept_due_at",
                    "handled_at",
                    "finish_due_at",
                    "rating",
                    "ever_dispatched",
                    "ever_returned",
                ),
                name="ticket_received_figures",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    (
                        "status__in",
                        (
                            "accepted",
                            "dispatched",
                            "escalated",
                            "in_progress",
                            "registered",
                            "reopened",
                            "returned",
                            "whistled",
                        ),
                    )
                ),
                fields=["received_at"],
                include=(
                    "id",
                    "status",
                    "area_path",
                    "area_id",
                    "category_id",
                    "channel",
                    "handler_id",
                    "department_id",
                    "accepted_at",
                    "accept_due_at",
                    "handled_at",
                    "finish_due_at",
                    "rating",
                    "ever_dispatched",
                    "ever_returned",
                ),
                name="ticket_running_figures",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["changed_at"], name="ticket_changed"),
        ),
        migrations.AddField(
            model_name="ticketfigures",
            name="area",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="areas.area"),
        ),
        migrations.AddIndex(
            model_name="ticketfigures",
            index=models.Index(fields=["dimension", "month"], name="ticket_figures_month"),
        ),
        # After the indexes: an UPDATE's pending trigger events in the same transaction make PostgreSQL
        # refuse CREATE INDEX (and the batches commit on their own).
        migrations.RunPython(flag_dispatched_and_returned, migrations.RunPython.noop, elidable=True),
    ]
