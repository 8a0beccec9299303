"""Ingest signal handlers: the check registry is seeded again after every migrate or flush."""

from __future__ import annotations

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def _seed_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    if app_config is not None and app_config.label == "ingest":
        from lantai.ingest.checks import seed_rules
        from lantai.ingest.models import AcceptedFormat, CheckRule

        seed_rules(CheckRule, AcceptedFormat, using)
