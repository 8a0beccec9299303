from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "lantai.jobs"
    label = "jobs"
    verbose_name = _("后台任务")

    def ready(self) -> None:
        # Importing tasks registers them with huey and the job registry.
        from lantai.jobs import tasks  # noqa: F401
