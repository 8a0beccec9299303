"""Seed the 档案门类 of DA/T 13-2022, the 专门档案 kinds and the default 档号 scheme.

These are data, not logic: an archive edits, adds or retires them afterwards. Re-running
leaves existing rows alone (an archive's edits win).
"""

from django.db import migrations

from lantai.holdings.seed import seed_codes


def seed(apps, schema_editor):
    seed_codes(
        apps.get_model("holdings", "Category"),
        apps.get_model("holdings", "ReferenceScheme"),
        schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [("holdings", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
