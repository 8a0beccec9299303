from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "lantai.jobs"
    label = "jobs"
    verbose_name = _("后台任务")

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        # The huey task and hooks, then the built-in jobs.
        from lantai.jobs import builtin, tasks  # noqa: F401

        # Every app registers its own job handlers in a ``jobs.py`` module
        # (see lantai.jobs.services for an example).
        autodiscover_modules("jobs")
