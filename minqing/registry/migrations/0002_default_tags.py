from django.db import migrations

# The care tags every community starts with (民政 and 网格 practice); a community adds its own.
# (name, min_age, has_grade, sensitive)
DEFAULT_TAGS = [
    ("独居老人", None, False, False),
    ("空巢老人", None, False, False),
    ("高龄", 80, False, False),
    ("残疾", None, True, True),
    ("低保", None, False, False),
    ("特困/五保", None, False, False),
    ("优抚对象", None, False, False),
    ("退役军人", None, False, False),
    ("留守儿童", None, False, False),
    ("困境儿童", None, False, False),
    ("慢性病", None, False, True),
    ("重点人员", None, False, True),
]


def create(apps, schema_editor):
    Tag = apps.get_model("registry", "Tag")
    for order, (name, min_age, has_grade, sensitive) in enumerate(DEFAULT_TAGS, start=1):
        Tag.objects.get_or_create(
            community=None,
            name=name,
            defaults={"min_age": min_age, "has_grade": has_grade, "sensitive": sensitive, "order": order * 10},
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
