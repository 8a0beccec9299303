"""``lantai vault``: the environment side of the vaults from the command line.

    lantai vault consume [--url mqtt://host:1883] [--client-id ID] [--protocol 5|3]
    lantai vault simulate [--mqtt URL | --http URL --token TOKEN] [--vault CODE] [--interval 60]
                          [--ticks N] [--rate R] [--faults 0.02] [--backfill-hours H]
    lantai vault import-csv FILE
    lantai vault token NAME [--vault CODE]
    lantai vault watch / lantai vault maintain

``consume`` runs until SIGTERM/SIGINT and never stops on bad input: every refusal is counted
(see the 采集统计 screen). It reconnects by itself when the broker goes away.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lantai.vault import services_env
from lantai.vault.models import Sensor, Vault


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "；".join(f"{field}: {'、'.join(msgs)}" for field, msgs in exc.message_dict.items())
    return "；".join(exc.messages)


class Command(BaseCommand):
    help = "库房环境：接收 MQTT 读数、模拟传感器、导入 CSV、签发采集令牌、巡检与汇总。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        consume = sub.add_parser("consume", help="从 MQTT 代理接收读数（常驻）")
        consume.add_argument("--url", default=None, help="默认 settings.LANTAI_MQTT_URL")
        consume.add_argument("--client-id", default=None)
        consume.add_argument("--protocol", choices=["5", "3"], default="5")
        consume.add_argument("--batch", type=int, default=2000)
        consume.add_argument("--stats-every", type=float, default=60.0)
        sim = sub.add_parser("simulate", help="模拟传感器数据（含故障）")
        sim.add_argument("--mqtt", help="经 MQTT 发布，如 mqtt://127.0.0.1:1883")
        sim.add_argument("--http", help="经 HTTP 批量接口提交，如 http://127.0.0.1:8000")
        sim.add_argument("--token", help="HTTP 采集令牌")
        sim.add_argument("--vault", action="append", default=[], help="只模拟该库房（可多次）")
        sim.add_argument("--interval", type=float, default=60.0, help="每个传感器的读数间隔（秒）")
        sim.add_argument("--ticks", type=int, default=None, help="发送多少轮后结束")
        sim.add_argument("--rate", type=float, default=0, help="每秒最多发送条数（0 = 按间隔实时）")
        sim.add_argument("--faults", type=float, default=0.02, help="故障数据比例")
        sim.add_argument("--backfill-hours", type=float, default=0, help="先补发过去若干小时")
        sim.add_argument("--batch", type=int, default=1000, help="HTTP 每批条数")
        sim.add_argument("--seed", type=int, default=1)
        imp = sub.add_parser("import-csv", help="导入 CSV 读数（sensor,ts,value）")
        imp.add_argument("file")
        token = sub.add_parser("token", help="签发 HTTP 采集令牌")
        token.add_argument("name")
        token.add_argument("--vault")
        sub.add_parser("watch", help="检查离线传感器与日波动（每分钟自动执行）")
        sub.add_parser("maintain", help="汇总读数并按保留期清理（每 10 分钟自动执行）")

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, "do_" + action.replace("-", "_"))(**options)
        except ValidationError as exc:
            raise CommandError(_errors(exc)) from exc

    # --- consume ------------------------------------------------------------------------------

    def do_consume(self, url, client_id, protocol, batch, stats_every, **_):
        from lantai.vault.mqtt import BrokerConfig, Consumer

        try:
            broker = BrokerConfig.from_url(url or settings.LANTAI_MQTT_URL)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        consumer = Consumer(
            broker,
            client_id=client_id or settings.LANTAI_MQTT_CLIENT_ID,
            protocol=protocol,
            batch_size=batch,
        )

        def stop(signum, frame):
            consumer.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"接收 MQTT 读数：{broker.host}:{broker.port} 主题 lantai/vault/+/+")
        self.stdout.flush()
        consumer.run(stats_every=stats_every, on_stats=self._stats)
        self._stats(consumer)

    def _stats(self, consumer) -> None:
        counts = "，".join(
            f"{services_env.outcome_label(k)} {v}" for k, v in sorted(consumer.totals.items())
        )
        self.stdout.write(f"已处理消息 {consumer.messages} 条：{counts or '无'}")
        self.stdout.flush()

    # --- simulate -----------------------------------------------------------------------------

    def do_simulate(self, mqtt, http, token, vault, interval, ticks, rate, faults, **opts):
        from lantai.vault.simulate import stream

        if bool(mqtt) == bool(http):
            raise CommandError("请指定 --mqtt 或 --http 之一。")
        if http and not token:
            raise CommandError("经 HTTP 提交须提供 --token。")
        sensors = Sensor.objects.filter(active=True).select_related("vault", "kind")
        if vault:
            sensors = sensors.filter(vault__code__in=vault)
        sensors = list(sensors)
        if not sensors:
            raise CommandError("没有在用的传感器：请先登记库房和传感器。")
        now = timezone.now()
        start = now - timedelta(hours=opts["backfill_hours"])
        messages = stream(
            sensors, start, interval=interval, ticks=ticks, faults=faults, seed=opts["seed"]
        )
        sender = _MqttSender(mqtt) if mqtt else _HttpSender(http, token, opts["batch"])
        sent = 0
        began = time.monotonic()
        try:
            for message in messages:
                ts = message.payload.get("ts") if isinstance(message.payload, dict) else None
                # Real time once the backfill is done: wait for the reading's moment.
                if not rate and ts and message.fault != "future":
                    moment = services_env.parse_timestamp(ts)
                    wait = (moment - timezone.now()).total_seconds() if moment else 0
                    if wait > 0:
                        sender.flush()
                        time.sleep(wait)
                sender.send(message)
                sent += 1
                if rate:
                    ahead = sent / rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
        except KeyboardInterrupt:
            pass
        finally:
            sender.close()
        elapsed = time.monotonic() - began
        self.stdout.write(f"已发送 {sent} 条，用时 {elapsed:.1f} 秒。")

    # --- the rest -----------------------------------------------------------------------------

    def do_import_csv(self, file, **_):
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                result = services_env.import_csv(None, handle)
        except OSError as exc:
            raise CommandError(f"无法读取文件：{exc}") from exc
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, default=str, indent=1))

    def do_token(self, name, vault, **_):
        target = None
        if vault:
            target = Vault.objects.filter(code=vault).first()
            if target is None:
                raise CommandError(f"库房不存在：{vault}")
        device, plain = services_env.issue_token(None, name, target)
        self.stdout.write(f"{device.name}：{plain}")
        self.stdout.write("令牌只显示这一次，请妥善保存。")

    def do_watch(self, **_):
        self.stdout.write(json.dumps(services_env.watch(), ensure_ascii=False))

    def do_maintain(self, **_):
        self.stdout.write(json.dumps(services_env.maintain(), ensure_ascii=False))


class _MqttSender:
    def __init__(self, url: str):
        from lantai.vault.mqtt import BrokerConfig, Publisher

        self.publisher = Publisher(BrokerConfig.from_url(url))
        if not self.publisher.wait_connected(15):
            raise CommandError(f"无法连接 MQTT 代理：{url}")

    def send(self, message) -> None:
        if isinstance(message.payload, str):
            from lantai.vault.mqtt import topic_for

            self.publisher.publish_raw(topic_for(message.vault, message.sensor), message.payload)
        else:
            self.publisher.publish(message.vault, message.sensor, message.payload)

    def flush(self) -> None:
        self.publisher.flush(30)

    def close(self) -> None:
        self.publisher.close()


class _HttpSender:
    def __init__(self, base: str, token: str, batch: int):
        self.url = base.rstrip("/") + "/api/v1/vault/readings"
        self.token = token
        self.size = batch
        self.pending: list = []

    def send(self, message) -> None:
        if isinstance(message.payload, str):
            self._post(message.payload.encode())  # a malformed body on its own
            return
        self.pending.append({"sensor": message.sensor, **message.payload})
        if len(self.pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            body = json.dumps({"readings": self.pending}, ensure_ascii=False).encode()
            self.pending = []
            self._post(body)

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(  # noqa: S310 - the operator's own server
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code not in (400, 422):
                sys.stderr.write(f"HTTP {exc.code}: {exc.read()[:200]!r}\n")
        except urllib.error.URLError as exc:
            raise CommandError(f"无法连接：{exc}") from exc

    def close(self) -> None:
        self.flush()
