"""Seed the four-property check items 四性检测项 of every stage and the accepted formats.

Data, not logic: an archive sets each item blocking, warning or off and edits the format list
afterwards. Re-running leaves existing rows alone (an archive's settings win).
"""

from django.db import migrations

from lantai.ingest.checks import seed_rules


def seed(apps, schema_editor):
    seed_rules(
        apps.get_model("ingest", "CheckRule"),
        apps.get_model("ingest", "AcceptedFormat"),
        schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [("ingest", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
