"""Shared fixtures. Service fixtures (postgres_only, redis_url, mqtt_broker, chromium_path)
come from the lantai.core.testing plugin."""
