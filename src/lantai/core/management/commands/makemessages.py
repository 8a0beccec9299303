"""``lantai makemessages``: Django's command, also extracting ``N_("…")``.

Some modules import ``gettext_noop as N_`` to mark Chinese msgids in tables that are
translated later (check names, labels). xgettext does not know ``N_``, so without this
keyword those msgids would never reach the catalog and would stay Chinese in English.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    # Django copies and extends this list per run (never mutates it in place).
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=N_"]  # noqa: RUF012
