"""Digitisation 数字化 and OCR 文字识别 of paper records.

A **scan batch 扫描批次** is one upload of scans (TIFF incl. multi-page, JPEG, PNG, PDF) for an
item (件). Every page is checked against DA/T 31-2017 (纸质档案数字化规范): resolution,
colour mode, format, readability; the results are kept per page (**scan page 扫描页面**). A
batch that passes is recognised (OCR) in the background and stored through the storage app:
the scans as the item's master 原件 (or access copy 利用件 when the item already has a master
of another origin), the text as 全文 and a searchable PDF as 利用件. Which components a batch
produced is recorded (**digitised component**), so re-running replaces them cleanly.

Thresholds come from a **check profile 检测方案** (per 全宗 and/or 门类, or archive-wide), falling
back to ``settings.LANTAI_DIGITISATION`` and the defaults in ``checks.DEFAULTS``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ColourMode(models.TextChoices):
    BITONAL = "bitonal", _("黑白二值")
    GREY = "grey", _("灰度")
    COLOUR = "colour", _("彩色")


class CheckResult(models.TextChoices):
    PASS = "pass", _("通过")
    WARNING = "warning", _("警告")
    FAIL = "fail", _("不通过")


class BatchStatus(models.TextChoices):
    CHECKED = "checked", _("检测通过")
    REJECTED = "rejected", _("检测未通过")
    QUEUED = "queued", _("等待识别")
    PROCESSING = "processing", _("识别中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("识别失败")


class CheckProfile(models.Model):
    """检测方案: DA/T 31-2017 thresholds, for one 全宗 and/or 门类 or (both empty) the archive."""

    name = models.CharField(_("名称"), max_length=100)
    fonds = models.ForeignKey(
        "holdings.Fonds",
        verbose_name=_("全宗"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    category = models.ForeignKey(
        "holdings.Category",
        verbose_name=_("门类"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    min_dpi = models.PositiveIntegerField(
        _("最低分辨率（dpi）"), default=200, help_text=_("DA/T 31-2017 要求不低于 200 dpi")
    )
    allowed_modes = models.JSONField(
        _("允许的色彩模式"),
        default=list,
        blank=True,
        help_text=_("bitonal（黑白二值）、grey（灰度）、colour（彩色）；留空表示全部允许"),
    )
    allowed_formats = models.JSONField(
        _("允许的格式"),
        default=list,
        blank=True,
        help_text=_("TIFF、JPEG、PNG、PDF；留空表示全部允许"),
    )
    blank_ink_ratio = models.FloatField(
        _("空白页阈值"),
        default=0.002,
        help_text=_("深色像素占比低于此值的页面视为疑似空白页"),
    )
    blocking = models.BooleanField(
        _("不通过时阻止识别"),
        default=True,
        help_text=_("选中时，有页面检测不通过的批次不进行识别和入库"),
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("数字化检测方案")
        verbose_name_plural = _("数字化检测方案")
        ordering = ["fonds_id", "category_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["fonds", "category"], name="digitisation_profile_scope")
        ]

    def __str__(self) -> str:
        return self.name


class ScanBatch(models.Model):
    """扫描批次: one upload of scans for an item, with its check and OCR outcome."""

    item = models.ForeignKey(
        "holdings.Item",
        verbose_name=_("件"),
        on_delete=models.CASCADE,
        related_name="scan_batches",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.CHECKED
    )
    colour_elements = models.BooleanField(
        _("含红头或印章"),
        default=False,
        help_text=_("含红头、印章、批注等彩色信息的文件不得以黑白二值扫描"),
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    #: The thresholds the pages were checked with (a copy: a later profile change does not
    #: rewrite an old report).
    thresholds = models.JSONField(_("检测阈值"), default=dict, blank=True)
    spool = models.CharField(_("暂存目录"), max_length=64, blank=True)
    page_count = models.PositiveIntegerField(_("页数"), default=0)
    passed = models.PositiveIntegerField(_("通过页数"), default=0)
    warnings = models.PositiveIntegerField(_("警告页数"), default=0)
    failed = models.PositiveIntegerField(_("不通过页数"), default=0)
    ocr_chars = models.PositiveIntegerField(_("识别字数"), default=0)
    stored_as = models.CharField(_("扫描件入库为"), max_length=16, blank=True)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    job = models.ForeignKey(
        "jobs.Job",
        verbose_name=_("后台任务"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    processed_at = models.DateTimeField(_("识别完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("扫描批次")
        verbose_name_plural = _("扫描批次")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="scanbatch_status")]

    def __str__(self) -> str:
        return f"{self.item} #{self.pk}"

    @property
    def result(self) -> str:
        if self.failed:
            return CheckResult.FAIL
        if self.warnings:
            return CheckResult.WARNING
        return CheckResult.PASS


class ScanFile(models.Model):
    """One uploaded file of a batch (a multi-page TIFF or PDF holds several pages)."""

    batch = models.ForeignKey(
        ScanBatch, verbose_name=_("扫描批次"), on_delete=models.CASCADE, related_name="files"
    )
    sequence = models.PositiveIntegerField(_("顺序号"))
    filename = models.CharField(_("文件名"), max_length=255)
    format = models.CharField(_("格式"), max_length=16, blank=True)
    size = models.PositiveBigIntegerField(_("字节数"), default=0)
    readable = models.BooleanField(_("可读取"), default=True)
    object = models.ForeignKey(
        "storage.StoredObject",
        verbose_name=_("存储对象"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("扫描文件")
        verbose_name_plural = _("扫描文件")
        ordering = ["batch_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "sequence"], name="digitisation_file_seq")
        ]

    def __str__(self) -> str:
        return self.filename


class ScanPage(models.Model):
    """扫描页面: one page with its DA/T 31 check results and its recognised text."""

    batch = models.ForeignKey(
        ScanBatch, verbose_name=_("扫描批次"), on_delete=models.CASCADE, related_name="pages"
    )
    file = models.ForeignKey(
        ScanFile, verbose_name=_("扫描文件"), on_delete=models.CASCADE, related_name="pages"
    )
    number = models.PositiveIntegerField(_("页号"))
    page_in_file = models.PositiveIntegerField(_("文件内页号"), default=1)
    width = models.PositiveIntegerField(_("宽（像素）"), null=True, blank=True)
    height = models.PositiveIntegerField(_("高（像素）"), null=True, blank=True)
    dpi_x = models.FloatField(_("水平分辨率"), null=True, blank=True)
    dpi_y = models.FloatField(_("垂直分辨率"), null=True, blank=True)
    mode = models.CharField(_("色彩模式"), max_length=16, choices=ColourMode.choices, blank=True)
    result = models.CharField(
        _("检测结果"), max_length=16, choices=CheckResult.choices, default=CheckResult.PASS
    )
    #: [{"code", "level", "params"}]; the message is rendered in the reader's language.
    issues = models.JSONField(_("问题"), default=list, blank=True)
    ocr_text = models.TextField(_("识别文本"), blank=True)
    ocr_chars = models.PositiveIntegerField(_("识别字数"), default=0)
    ocr_score = models.FloatField(_("平均置信度"), null=True, blank=True)

    class Meta:
        verbose_name = _("扫描页面")
        verbose_name_plural = _("扫描页面")
        ordering = ["batch_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="digitisation_page_number")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.number}"

    @property
    def dpi(self) -> int | None:
        values = [v for v in (self.dpi_x, self.dpi_y) if v]
        return round(min(values)) if values else None


class DigitisedComponent(models.Model):
    """A component (原件/利用件/全文) a batch produced; a re-run replaces these and only these."""

    batch = models.ForeignKey(
        ScanBatch, verbose_name=_("扫描批次"), on_delete=models.CASCADE, related_name="outputs"
    )
    component = models.OneToOneField(
        "storage.Component",
        verbose_name=_("组件"),
        on_delete=models.CASCADE,
        related_name="digitised",
    )
    kind = models.CharField(_("类型"), max_length=16)  # scan / text / pdf

    class Meta:
        verbose_name = _("数字化成果")
        verbose_name_plural = _("数字化成果")
        ordering = ["batch_id", "id"]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.component_id}"
