"""The cache table Django's database cache uses when no Redis is configured (settings.CACHES): created
by migrate, so every database that is migrated has it (createcachetable does nothing when it exists)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
