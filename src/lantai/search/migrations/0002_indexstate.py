"""Index state: the format every entry is in (services.FORMAT; 2 = public-scope token and
character bigrams).

A database that already holds items stays at format 1 until ``lantai search-reindex``
rebuilds the index (searches stay correct meanwhile, the old way); a new database starts at
the current format, since every entry it will ever get is written in it.
"""

from django.db import migrations, models


def mark(apps, schema_editor):
    Item = apps.get_model("holdings", "Item")
    IndexState = apps.get_model("search", "IndexState")
    value = "1" if Item.objects.exists() else "2"
    IndexState.objects.update_or_create(key="format", defaults={"value": value})


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0005_item_fonds_date"),
        ("search", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="IndexState",
            fields=[
                (
                    "key",
                    models.CharField(
                        max_length=50, primary_key=True, serialize=False, verbose_name="名称"
                    ),
                ),
                ("value", models.CharField(blank=True, max_length=200, verbose_name="值")),
            ],
            options={"verbose_name": "索引状态", "verbose_name_plural": "索引状态"},
        ),
        migrations.RunPython(mark, migrations.RunPython.noop),
    ]
