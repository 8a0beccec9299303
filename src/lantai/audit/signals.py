"""Audit signal handlers (logins, logouts, failures)."""
