"""Holdings signal handlers."""
