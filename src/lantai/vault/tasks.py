"""huey periodic tasks of the vault app (discovered by ``run_huey`` as the app's tasks module).

Shelves: the hourly overdue-circulation reminder 催还 (each overdue circulation is mailed at
most once a day; see ``services_shelves.send_overdue_reminders``).
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from lantai.vault import services_shelves


@db_periodic_task(crontab(minute="7"), name="lantai.vault.overdue_reminders")
def overdue_reminders_task() -> None:
    services_shelves.send_overdue_reminders()
