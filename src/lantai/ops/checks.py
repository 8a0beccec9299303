"""Pre-start configuration checks 启动前检查, run by ``lantai check``.

Configuration checks (secret key, DEBUG in production, allowed hosts, data directory) are
ordinary Django system checks. Probing services over the network (database, queue, storage,
Redis, MQTT, clock skew) is left to an explicit ``lantai check`` (see the command in
``ops/management/commands/check.py``): migrate and runserver run the system checks too and
must not wait on the network.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connection

#: Set by ``lantai check`` (unless --no-services) so the service probes run.
PROBE_SERVICES = False
CLOCK_SKEW_SECONDS = float(os.environ.get("LANTAI_MAX_CLOCK_SKEW", "5"))
_WEAK_KEYS = {"", "changeme", "secret", "django-insecure"}


def _production() -> bool:
    return os.environ.get("LANTAI_ENV", "").lower() in {"production", "prod"}


@register(Tags.security, "lantai")
def check_configuration(app_configs=None, **kwargs):
    problems = []
    key = settings.SECRET_KEY or ""
    if key.lower() in _WEAK_KEYS or key.startswith("django-insecure") or len(set(key)) < 10:
        problems.append(
            Error(
                "密钥过弱：请设置 LANTAI_SECRET_KEY 或删除数据目录中的 secret_key 让系统重新生成。",
                id="lantai.E001",
            )
        )
    if _production() and settings.DEBUG:
        problems.append(Error("生产环境不得开启调试模式（LANTAI_DEBUG）。", id="lantai.E002"))
    hosts = list(settings.ALLOWED_HOSTS)
    if "*" in hosts:
        problems.append(
            Error(
                "ALLOWED_HOSTS 不得为 *：请在 LANTAI_ALLOWED_HOSTS 中列出本站的域名。",
                id="lantai.E003",
            )
        )
    elif _production() and set(hosts) <= {"localhost", "127.0.0.1", "[::1]"}:
        problems.append(
            Warning(
                "生产环境的 LANTAI_ALLOWED_HOSTS 只有本机地址，其他机器将无法访问。",
                id="lantai.W004",
            )
        )
    data_dir = settings.DATA_DIR
    if not os.access(data_dir, os.W_OK):
        problems.append(Error(f"数据目录不可写：{data_dir}", id="lantai.E005"))
    return problems


@register("lantai")
def check_services(app_configs=None, **kwargs):
    if not PROBE_SERVICES:
        return []
    from lantai.ops import health

    problems = []
    names = {
        "database": "数据库",
        "queue": "任务队列",
        "storage": "主存储",
        "redis": "Redis",
        "mqtt": "MQTT 代理",
    }
    for probe in health.readiness():
        if not probe.ok:
            problems.append(
                Error(
                    f"{names.get(probe.name, probe.name)}不可用：{probe.detail}",
                    id=f"lantai.E1{list(names).index(probe.name):02d}",
                )
            )
    skew = clock_skew()
    if skew is not None and abs(skew) > CLOCK_SKEW_SECONDS:
        problems.append(
            Warning(
                f"本机时钟与数据库服务器相差 {skew:+.1f} 秒，超过 {CLOCK_SKEW_SECONDS:g} 秒："
                "请校准时钟（NTP），审计日志与告警时间依赖它。",
                id="lantai.W110",
            )
        )
    return problems


def clock_skew() -> float | None:
    """Seconds this machine's clock is ahead of the database server's (PostgreSQL only: SQLite
    has no clock of its own)."""
    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cursor:
            before = datetime.now(UTC)
            cursor.execute("SELECT clock_timestamp()")
            server = cursor.fetchone()[0]
            after = datetime.now(UTC)
    except Exception:
        return None
    local = before + (after - before) / 2
    return (local - server).total_seconds()
