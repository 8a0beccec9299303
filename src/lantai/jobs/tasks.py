"""huey tasks."""
