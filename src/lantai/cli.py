"""The ``lantai`` console script: Django's management commands under Lantai's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    # Commands are spelt with hyphens on the command line (lantai import-catalog); Django's
    # command modules cannot have hyphens in their names.
    if args and not args[0].startswith("-") and "-" in args[0]:
        args[0] = args[0].replace("-", "_")
    execute_from_command_line(["lantai", *args])


if __name__ == "__main__":
    main()
