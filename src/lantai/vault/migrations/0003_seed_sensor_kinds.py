"""The default 八防 list of watched quantities; archives edit, add or retire kinds later."""

from django.db import migrations

from lantai.vault.seed_env import seed_kinds


def seed(apps, schema_editor):
    seed_kinds(apps.get_model("vault", "SensorKind"))


class Migration(migrations.Migration):
    dependencies = [("vault", "0002_env_tokens_counters")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
