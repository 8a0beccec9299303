"""Vault environment background work: the minute watch (silent sensors, daily swing) and the
storage job (rollups, retention). Both run periodically in the huey worker and can be started
by hand as jobs (``lantai jobs run vault.env_maintain``)."""

from __future__ import annotations

from django.db import close_old_connections
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from lantai.jobs.services import JobContext, register
from lantai.vault import services_env


@register("vault.env_watch", perm="vault.manage_vault", label=gettext_lazy("库房环境巡检"))
def env_watch_job(ctx: JobContext) -> dict:
    """Silent sensors and daily swing, once."""
    return services_env.watch()


@register("vault.env_maintain", perm="vault.manage_vault", label=gettext_lazy("读数汇总与清理"))
def env_maintain_job(ctx: JobContext) -> dict:
    """10-minute and hourly rollups of the last hours, then retention."""
    return services_env.maintain()


@db_periodic_task(crontab(minute="*"), name="lantai.vault.watch")
def watch_task() -> None:
    close_old_connections()
    services_env.watch()


@db_periodic_task(crontab(minute="*/10"), name="lantai.vault.maintain")
def maintain_task() -> None:
    close_old_connections()
    services_env.maintain()
