"""The built-in 利用目的 list (查证, 编史修志, 学术研究, 工作查考, 个人其他); editable later."""

from django.db import migrations

PURPOSES = [
    ("verify", "查证"),
    ("history", "编史修志"),
    ("research", "学术研究"),
    ("work", "工作查考"),
    ("personal", "个人其他"),
]


def add_purposes(apps, schema_editor):
    Purpose = apps.get_model("utilization", "Purpose")
    for order, (code, name) in enumerate(PURPOSES, start=1):
        Purpose.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("utilization", "0001_initial")]
    operations = [migrations.RunPython(add_purposes, migrations.RunPython.noop)]
