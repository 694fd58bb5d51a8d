from django.db import migrations

# The shipped care plan (issue 6): (tag name or None for every household, interval days, responsible).
# District-wide rows (no community); a community's own rule for a tag overrides its row there.
DEFAULT_RULES = [
    ("独居老人", 7, "liaison"),  # 周周看
    ("高龄", 14, "liaison"),
    ("低保", 30, "grid_worker"),
    (None, 90, "grid_worker"),  # 家家到: every household each quarter
]


def create(apps, schema_editor):
    Tag = apps.get_model("registry", "Tag")
    CarePlanRule = apps.get_model("visits", "CarePlanRule")
    for name, days, responsible in DEFAULT_RULES:
        tag = None
        if name is not None:
            tag = Tag.objects.filter(community=None, name=name, retired_at=None).first()
            if tag is None:
                continue
        CarePlanRule.objects.get_or_create(
            community=None, tag=tag, defaults={"interval_days": days, "responsible": responsible}
        )


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial"), ("registry", "0002_default_tags")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
