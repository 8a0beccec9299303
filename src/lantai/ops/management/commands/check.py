"""``lantai check``: Django's system checks plus Lantai's configuration checks and a probe of
every service Lantai needs (database, queue, storage, Redis, MQTT, clock skew)."""

from __future__ import annotations

from django.core.management.commands.check import Command as DjangoCheck

from lantai.ops import checks


class Command(DjangoCheck):
    help = "启动前检查：配置（密钥、调试模式、允许的主机、数据目录）与依赖服务是否可用。"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--no-services", action="store_true", help="不探测数据库、队列、存储等服务。"
        )

    def handle(self, *app_labels, **options):
        checks.PROBE_SERVICES = not options["no_services"]
        try:
            return super().handle(*app_labels, **options)
        finally:
            checks.PROBE_SERVICES = False
