"""Signal handlers of the vault app."""

from __future__ import annotations

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate, dispatch_uid="lantai.vault.seed_kinds")
def seed_sensor_kinds(sender, app_config=None, using="default", **kwargs) -> None:
    # A flush (transactional tests) empties the table; migrate ran the seed only once. Only an
    # empty table is seeded: post_migrate runs at every ``migrate``, and a kind an archive has
    # deleted from its 八防 list must not come back with the next upgrade.
    if app_config is None or app_config.label != "vault":
        return
    from lantai.vault.models import SensorKind
    from lantai.vault.seed_env import seed_kinds

    if not SensorKind.objects.using(using).exists():
        seed_kinds(SensorKind)
