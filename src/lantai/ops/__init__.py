"""Operations 运维: health and readiness probes, Prometheus metrics, structured logs,
pre-start configuration checks, backup and verified restore."""
