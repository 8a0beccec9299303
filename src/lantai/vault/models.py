"""Vault security 库房安全: vaults, shelf locations, boxes, physical circulation, inventories,
and the 八防 environment watch (sensors, readings, alarms).

Limits default to JGJ 25-2010 by vault type and stay editable per vault.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _


class VaultType(models.TextChoices):
    PAPER = "paper", _("纸质档案库")
    SPECIAL = "special", _("特藏库")
    MAGNETIC = "magnetic", _("音像磁性载体库")
    FILM_MASTER = "film_master", _("胶片母片库")
    FILM_COPY = "film_copy", _("胶片拷贝库")
    OPTICAL = "optical", _("光盘库")
    OBJECT = "object", _("实物库")


class Vault(models.Model):
    """库房: a closed storage room with its environmental limits."""

    code = models.CharField(_("库房编号"), max_length=20, unique=True)
    name = models.CharField(_("库房名称"), max_length=100)
    vault_type = models.CharField(_("库房类型"), max_length=16, choices=VaultType.choices)
    floor = models.CharField(_("楼层"), max_length=20, blank=True)
    temp_min = models.DecimalField(_("温度下限(℃)"), max_digits=5, decimal_places=1)
    temp_max = models.DecimalField(_("温度上限(℃)"), max_digits=5, decimal_places=1)
    rh_min = models.DecimalField(_("湿度下限(%RH)"), max_digits=5, decimal_places=1)
    rh_max = models.DecimalField(_("湿度上限(%RH)"), max_digits=5, decimal_places=1)
    max_daily_temp_swing = models.DecimalField(
        _("日温差上限(℃)"), max_digits=4, decimal_places=1, default=2
    )
    max_daily_rh_swing = models.DecimalField(
        _("日湿度差上限(%RH)"), max_digits=4, decimal_places=1, default=5
    )
    # Working hours: a door opened outside them raises an alarm.
    open_from = models.TimeField(_("开放时间起"), null=True, blank=True)
    open_until = models.TimeField(_("开放时间止"), null=True, blank=True)
    keepers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("库管员"), blank=True, related_name="vaults"
    )
    active = models.BooleanField(_("在用"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("库房")
        verbose_name_plural = _("库房")
        ordering = ["code"]
        permissions = [
            ("manage_vault", _("管理库房、架位与出入库")),
            ("view_environment", _("查看库房环境")),
            ("handle_alarm", _("处置库房告警")),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Location(models.Model):
    """架位 库房-排-列-节-层 (vault-row-column-section-shelf)."""

    vault = models.ForeignKey(Vault, on_delete=models.PROTECT, related_name="locations")
    row = models.PositiveSmallIntegerField(_("排"))
    column = models.PositiveSmallIntegerField(_("列"))
    section = models.PositiveSmallIntegerField(_("节"))
    shelf = models.PositiveSmallIntegerField(_("层"))
    code = models.CharField(_("架位编码"), max_length=40, unique=True)
    capacity = models.PositiveIntegerField(_("容量(盒)"), default=0)

    class Meta:
        verbose_name = _("架位")
        verbose_name_plural = _("架位")
        ordering = ["vault", "row", "column", "section", "shelf"]
        constraints = [
            models.UniqueConstraint(
                fields=["vault", "row", "column", "section", "shelf"], name="location_unique"
            )
        ]

    def __str__(self) -> str:
        return self.code


class Box(models.Model):
    """档案盒: a container on a shelf holding volumes or items."""

    code = models.CharField(_("盒号"), max_length=60, unique=True)
    location = models.ForeignKey(
        Location,
        verbose_name=_("架位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="boxes",
    )
    fonds = models.ForeignKey(
        "holdings.Fonds",
        verbose_name=_("全宗"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    title = models.CharField(_("盒脊说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("档案盒")
        verbose_name_plural = _("档案盒")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Placement(models.Model):
    """Where a volume or a standalone item is shelved: in a box or directly at a location."""

    volume = models.OneToOneField(
        "holdings.Volume",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="placement",
    )
    item = models.OneToOneField(
        "holdings.Item",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="placement",
    )
    box = models.ForeignKey(
        Box, null=True, blank=True, on_delete=models.PROTECT, related_name="placements"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="placements"
    )
    placed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("存放位置")
        verbose_name_plural = _("存放位置")

    def __str__(self) -> str:
        return f"{self.volume or self.item} @ {self.box or self.location}"


class CirculationStatus(models.TextChoices):
    REQUESTED = "requested", _("已申请")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")
    OUT = "out", _("已出库")
    RETURNED = "returned", _("已归还")
    CANCELLED = "cancelled", _("已取消")


class Circulation(models.Model):
    """出入库: taking volumes/items/boxes out of the vault and bringing them back."""

    number = models.CharField(_("单号"), max_length=40, unique=True)
    purpose = models.CharField(_("出库事由"), max_length=200)
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=CirculationStatus.choices,
        default=CirculationStatus.REQUESTED,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办库管员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    out_at = models.DateTimeField(_("出库时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("应归还时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("归还时间"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("出入库单")
        verbose_name_plural = _("出入库单")
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["status", "due_at"], name="circ_due")]

    def __str__(self) -> str:
        return self.number


class CirculationLine(models.Model):
    circulation = models.ForeignKey(Circulation, on_delete=models.CASCADE, related_name="lines")
    volume = models.ForeignKey(
        "holdings.Volume", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        "holdings.Item", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    box = models.ForeignKey(Box, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    returned_at = models.DateTimeField(_("归还时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("出入库明细")
        verbose_name_plural = _("出入库明细")

    def __str__(self) -> str:
        return str(self.volume or self.item or self.box)


class VaultEntry(models.Model):
    """库房出入登记: who went into a vault, when and why."""

    vault = models.ForeignKey(Vault, on_delete=models.PROTECT, related_name="entries")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("人员"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    companions = models.CharField(_("陪同人员"), max_length=200, blank=True)
    reason = models.CharField(_("事由"), max_length=200)
    entered_at = models.DateTimeField(_("进入时间"))
    left_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    circulation = models.ForeignKey(
        Circulation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("库房出入登记")
        verbose_name_plural = _("库房出入登记")
        ordering = ["-entered_at"]

    def __str__(self) -> str:
        return f"{self.vault} {self.person} {localtime(self.entered_at):%Y-%m-%d %H:%M}"


class InventoryStatus(models.TextChoices):
    OPEN = "open", _("盘点中")
    CLOSED = "closed", _("已完成")


class Inventory(models.Model):
    """盘点: a check of what is on the shelves against what should be there."""

    vault = models.ForeignKey(Vault, on_delete=models.PROTECT, related_name="inventories")
    locations = models.ManyToManyField(Location, blank=True, related_name="+")
    status = models.CharField(
        max_length=8, choices=InventoryStatus.choices, default=InventoryStatus.OPEN
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(_("盘点结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("盘点")
        verbose_name_plural = _("盘点")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.vault} {localtime(self.started_at):%Y-%m-%d}"


class InventoryScan(models.Model):
    inventory = models.ForeignKey(Inventory, on_delete=models.CASCADE, related_name="scans")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT)
    code = models.CharField(_("扫描码"), max_length=120)
    scanned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("盘点扫描")
        verbose_name_plural = _("盘点扫描")

    def __str__(self) -> str:
        return self.code


class SensorKind(models.Model):
    """A watched quantity of the configurable 八防 list (温度, 湿度, 烟感, 水浸, 门磁, 光照/紫外,
    粉尘/PM2.5, 有害气体, 虫情…)."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    guard = models.CharField(_("所属八防"), max_length=20, blank=True)
    binary = models.BooleanField(_("开关量"), default=False)
    # Values outside the physical range are sensor faults, not environment alarms.
    physical_min = models.FloatField(_("物理下限"), null=True, blank=True)
    physical_max = models.FloatField(_("物理上限"), null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        verbose_name = _("监测类型")
        verbose_name_plural = _("监测类型")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Sensor(models.Model):
    """传感器: one device channel in a vault."""

    code = models.CharField(_("传感器编号"), max_length=60, unique=True)
    vault = models.ForeignKey(Vault, on_delete=models.PROTECT, related_name="sensors")
    kind = models.ForeignKey(SensorKind, on_delete=models.PROTECT, related_name="sensors")
    name = models.CharField(_("名称"), max_length=100, blank=True)
    # Thresholds override the vault's limits (temperature/humidity) when set.
    low = models.FloatField(_("报警下限"), null=True, blank=True)
    high = models.FloatField(_("报警上限"), null=True, blank=True)
    max_rate_per_hour = models.FloatField(_("变化速率上限(每小时)"), null=True, blank=True)
    heartbeat_seconds = models.PositiveIntegerField(_("心跳间隔(秒)"), default=300)
    last_value = models.FloatField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(_("在用"), default=True)

    class Meta:
        verbose_name = _("传感器")
        verbose_name_plural = _("传感器")
        ordering = ["vault", "kind", "code"]

    def __str__(self) -> str:
        return self.code


class Reading(models.Model):
    """A raw reading; kept for a configurable number of days, then downsampled."""

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="readings")
    ts = models.DateTimeField(_("时间"))
    value = models.FloatField(_("读数"))

    class Meta:
        verbose_name = _("读数")
        verbose_name_plural = _("读数")
        constraints = [models.UniqueConstraint(fields=["sensor", "ts"], name="reading_unique_ts")]
        indexes = [
            # Retention and reports scan by time across sensors.
            models.Index(fields=["ts"], name="reading_ts"),
            # Charts read one sensor's range: with the value in the index the scan never visits
            # the table, whose rows of one sensor are spread over every page (readings arrive
            # time-major, all sensors each minute).
            models.Index(fields=["sensor", "ts", "value"], name="reading_series"),
        ]

    def __str__(self) -> str:
        return f"{self.sensor_id}@{self.ts}: {self.value}"


class ReadingRollup(models.Model):
    """Min/avg/max per bucket (10 minutes or 1 hour)."""

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="rollups")
    bucket_seconds = models.PositiveIntegerField()
    ts = models.DateTimeField()
    count = models.PositiveIntegerField()
    min_value = models.FloatField()
    avg_value = models.FloatField()
    max_value = models.FloatField()

    class Meta:
        verbose_name = _("读数汇总")
        verbose_name_plural = _("读数汇总")
        constraints = [
            models.UniqueConstraint(fields=["sensor", "bucket_seconds", "ts"], name="rollup_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sensor_id}/{self.bucket_seconds}@{self.ts}"


class AlarmKind(models.TextChoices):
    THRESHOLD = "threshold", _("超限")
    SWING = "swing", _("日波动超限")
    RATE = "rate", _("变化过快")
    SILENT = "silent", _("传感器离线")
    DOOR = "door", _("非工作时间开门")
    SMOKE = "smoke", _("烟雾")
    WATER = "water", _("漏水")
    FAULT = "fault", _("传感器故障")


class AlarmStatus(models.TextChoices):
    RAISED = "raised", _("未处理")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    RESOLVED = "resolved", _("已解除")


class Alarm(models.Model):
    """告警: raised → acknowledged → resolved. One open alarm per condition."""

    sensor = models.ForeignKey(
        Sensor, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms"
    )
    vault = models.ForeignKey(Vault, on_delete=models.PROTECT, related_name="alarms")
    kind = models.CharField(_("告警类型"), max_length=16, choices=AlarmKind.choices)
    # The condition key, e.g. "threshold:high"; one open alarm per (sensor, condition).
    condition = models.CharField(_("条件"), max_length=60)
    status = models.CharField(
        _("状态"), max_length=16, choices=AlarmStatus.choices, default=AlarmStatus.RAISED
    )
    message = models.CharField(_("说明"), max_length=300)
    value = models.FloatField(_("触发值"), null=True, blank=True)
    raised_at = models.DateTimeField(_("发生时间"))
    last_seen_at = models.DateTimeField(_("最近一次"))
    occurrences = models.PositiveIntegerField(_("次数"), default=1)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledge_note = models.TextField(_("确认说明"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolve_note = models.TextField(_("处置说明"), blank=True)
    # Non-null only while open, so the unique constraint allows one open alarm per condition.
    open_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["status", "vault"], name="alarm_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.message}"


class DeviceToken(models.Model):
    """采集令牌: a secret a gateway or sensor device presents to the HTTP batch endpoint.

    Only a SHA-256 digest is stored; the token itself is shown once when it is issued. A token
    tied to a vault may only send readings of that vault's sensors.
    """

    name = models.CharField(_("设备名称"), max_length=100)
    vault = models.ForeignKey(
        Vault,
        verbose_name=_("限定库房"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="device_tokens",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("令牌前缀"), max_length=12)
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("采集令牌")
        verbose_name_plural = _("采集令牌")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IngestCounter(models.Model):
    """How many readings each source accepted, flagged or rejected per day, by outcome."""

    day = models.DateField()
    source = models.CharField(max_length=10)
    outcome = models.CharField(max_length=20)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("采集计数")
        verbose_name_plural = _("采集计数")
        constraints = [
            models.UniqueConstraint(fields=["day", "source", "outcome"], name="ingest_counter_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.source} {self.outcome}: {self.count}"


class RejectedReading(models.Model):
    """A sample of refused or flagged input with its reason, for the operator to look into."""

    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=10)
    reason = models.CharField(max_length=20)
    sensor_code = models.CharField(max_length=60, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    raw = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("异常读数")
        verbose_name_plural = _("异常读数")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.received_at} {self.reason} {self.sensor_code}"
