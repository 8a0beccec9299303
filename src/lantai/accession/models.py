"""Accession 接收进馆 and acquisition 征集: receipt plans, transfer batches with their catalog
uploads and check reports, and material collected from society.

A transfer batch moves submitted → checked → accepted, or back to returned with reasons; an
acceptance brings every row of the batch's current catalog into holdings in one transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReceiptPlan(models.Model):
    """接收计划: what a unit is due to transfer, per category and span of years."""

    unit = models.ForeignKey(
        "holdings.Unit",
        verbose_name=_("移交单位"),
        on_delete=models.PROTECT,
        related_name="receipt_plans",
    )
    category = models.ForeignKey(
        "holdings.Category",
        verbose_name=_("门类"),
        on_delete=models.PROTECT,
        related_name="receipt_plans",
    )
    year_from = models.PositiveSmallIntegerField(_("起始年度"))
    year_to = models.PositiveSmallIntegerField(_("终止年度"))
    due_year = models.PositiveSmallIntegerField(_("应移交年度"))
    expected_volumes = models.PositiveIntegerField(_("预计卷数"), default=0)
    expected_items = models.PositiveIntegerField(_("预计件数"), default=0)
    programme = models.CharField(
        _("所属规划"), max_length=100, blank=True, help_text=_("例如“十四五”档案接收规划")
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("接收计划")
        verbose_name_plural = _("接收计划")
        ordering = ["due_year", "unit__code", "category__sort_order"]
        permissions = [
            ("manage_accession", _("管理接收计划与移交批次")),
            ("submit_batch", _("提交移交批次")),
        ]
        indexes = [models.Index(fields=["unit", "category"], name="plan_unit_cat")]

    def __str__(self) -> str:
        return f"{self.unit} {self.category} {self.year_from}–{self.year_to}"


class BatchKind(models.TextChoices):
    TRANSFER = "transfer", _("移交进馆")
    ACQUISITION = "acquisition", _("征集进馆")


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    CHECKING = "checking", _("检测中")
    CHECKED = "checked", _("检测通过")
    FAILED = "failed", _("检测未通过")
    RETURNED = "returned", _("已退回")
    ACCEPTING = "accepting", _("接收中")
    ACCEPTED = "accepted", _("已接收")


class TransferBatch(models.Model):
    """移交批次: a unit's catalog (and files) offered to the archive in one go."""

    number = models.CharField(_("批次号"), max_length=40, unique=True)
    kind = models.CharField(
        _("来源"), max_length=16, choices=BatchKind.choices, default=BatchKind.TRANSFER
    )
    unit = models.ForeignKey(
        "holdings.Unit",
        verbose_name=_("移交单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfer_batches",
    )
    fonds = models.ForeignKey(
        "holdings.Fonds",
        verbose_name=_("全宗"),
        on_delete=models.PROTECT,
        related_name="transfer_batches",
    )
    acquisition = models.ForeignKey(
        "accession.Acquisition",
        verbose_name=_("征集记录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="batches",
    )
    title = models.CharField(_("批次说明"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=BatchStatus.choices,
        default=BatchStatus.DRAFT,
        db_index=True,
    )
    # Counts from the current upload's last check (cached for lists and the handover form).
    row_count = models.PositiveIntegerField(_("目录条目数"), default=0)
    volume_count = models.PositiveIntegerField(_("卷数"), default=0)
    item_count = models.PositiveIntegerField(_("件数"), default=0)
    file_count = models.PositiveIntegerField(_("电子文件数"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    warning_count = models.PositiveIntegerField(_("警告数"), default=0)
    returned_reason = models.TextField(_("退回理由"), blank=True)
    opening_opinion = models.TextField(
        _("开放意见"), blank=True, help_text=_("移交单位对档案开放的意见（档案法第三十条）")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    checked_at = models.DateTimeField(_("检测时间"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("接收时间"), null=True, blank=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("移交批次")
        verbose_name_plural = _("移交批次")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["unit", "status"], name="batch_unit_status")]

    def __str__(self) -> str:
        return self.number


class CatalogUpload(models.Model):
    """One uploaded catalog (归档文件目录/案卷目录/卷内目录) with its optional files archive.

    Files are kept in the batch's own folder under the data dir; a corrected catalog is a new
    upload, and the batch's current upload is the newest.
    """

    batch = models.ForeignKey(TransferBatch, on_delete=models.CASCADE, related_name="uploads")
    catalog_name = models.CharField(_("目录文件名"), max_length=255)
    catalog_path = models.CharField(max_length=500)
    catalog_sha256 = models.CharField(max_length=64)
    files_name = models.CharField(_("电子文件包"), max_length=255, blank=True)
    files_path = models.CharField(max_length=500, blank=True)
    encoding = models.CharField(_("编码"), max_length=20, blank=True)
    mapping = models.JSONField(_("列对应关系"), default=dict, blank=True)
    summary = models.JSONField(_("检测汇总"), default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("目录上传")
        verbose_name_plural = _("目录上传")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.catalog_name


class IssueKind(models.TextChoices):
    REQUIRED = "required", _("必填项缺失")
    DATE = "date", _("日期不合法")
    REFCODE = "refcode", _("档号不规范")
    MISMATCH = "mismatch", _("档号与著录项不一致")
    DUPLICATE_BATCH = "duplicate_batch", _("批次内重复")
    DUPLICATE_HOLDINGS = "duplicate_holdings", _("与馆藏重复")
    GAP = "gap", _("件号不连续")
    UNKNOWN_CODE = "unknown_code", _("代码未知")
    VALUE = "value", _("取值不合法")
    TOO_LONG = "too_long", _("超出长度")
    CONTROL_CHARS = "control_chars", _("含非法字符")
    FILE_MISSING = "file_missing", _("引用的文件缺失")
    FILE_UNREFERENCED = "file_unreferenced", _("文件未被目录引用")
    FILE_UNREADABLE = "file_unreadable", _("文件无法读取或为空")
    FORMULA = "formula", _("单元格含公式")
    STRUCTURE = "structure", _("文件结构错误")
    FOUR_PROPERTY = "four_property", _("四性检测未通过")


class Severity(models.TextChoices):
    ERROR = "error", _("错误")
    WARNING = "warning", _("警告")


class BatchIssue(models.Model):
    """One finding of a catalog check: row, column, value and reason."""

    upload = models.ForeignKey(CatalogUpload, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField(_("行号"), null=True, blank=True)
    column = models.CharField(_("列"), max_length=100, blank=True)
    value = models.CharField(_("值"), max_length=200, blank=True)
    kind = models.CharField(_("类型"), max_length=24, choices=IssueKind.choices)
    severity = models.CharField(
        _("级别"), max_length=8, choices=Severity.choices, default=Severity.ERROR
    )
    message = models.CharField(_("说明"), max_length=300)

    class Meta:
        verbose_name = _("检测问题")
        verbose_name_plural = _("检测问题")
        ordering = ["upload", "row", "id"]
        indexes = [
            models.Index(fields=["upload", "kind"], name="issue_kind"),
            models.Index(fields=["upload", "row"], name="issue_row"),
        ]

    def __str__(self) -> str:
        return f"{self.row}:{self.column} {self.message}"


class BatchItem(models.Model):
    """Provenance 来源: which batch brought an item (or volume) into holdings."""

    batch = models.ForeignKey(TransferBatch, on_delete=models.PROTECT, related_name="entries")
    item = models.OneToOneField(
        "holdings.Item",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="accession",
    )
    volume = models.OneToOneField(
        "holdings.Volume",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="accession",
    )
    row = models.PositiveIntegerField(_("目录行号"), null=True, blank=True)

    class Meta:
        verbose_name = _("接收来源")
        verbose_name_plural = _("接收来源")

    def __str__(self) -> str:
        return f"{self.batch} row {self.row}"


class ColumnMapping(models.Model):
    """A unit's saved column mapping: its catalog headers → Lantai fields."""

    unit = models.ForeignKey(
        "holdings.Unit", on_delete=models.CASCADE, related_name="column_mappings"
    )
    name = models.CharField(_("名称"), max_length=100)
    mapping = models.JSONField(_("列对应关系"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("列对应关系")
        verbose_name_plural = _("列对应关系")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="mapping_unique_name")]

    def __str__(self) -> str:
        return self.name


class HandoverForm(models.Model):
    """档案交接文据: the printable record of what passed from the unit to the archive."""

    batch = models.OneToOneField(TransferBatch, on_delete=models.PROTECT, related_name="handover")
    number = models.CharField(_("文据编号"), max_length=40, unique=True)
    counts = models.JSONField(_("数量统计"), default=dict)
    transferor = models.CharField(_("移交人"), max_length=100, blank=True)
    receiver = models.CharField(_("接收人"), max_length=100, blank=True)
    pdf_path = models.CharField(max_length=500, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("档案交接文据")
        verbose_name_plural = _("档案交接文据")

    def __str__(self) -> str:
        return self.number


class AcquisitionCampaign(models.Model):
    """征集活动: a themed public call for material (e.g. a historic garden district)."""

    title = models.CharField(_("征集主题"), max_length=200)
    description = models.TextField(_("征集说明"), blank=True)
    start_date = models.DateField(_("开始日期"), null=True, blank=True)
    end_date = models.DateField(_("截止日期"), null=True, blank=True)
    active = models.BooleanField(_("进行中"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("征集活动")
        verbose_name_plural = _("征集活动")
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return self.title


class AcquisitionMethod(models.TextChoices):
    DONATION = "donation", _("捐赠")
    PURCHASE = "purchase", _("购买")
    DEPOSIT = "deposit", _("寄存")
    EXCHANGE = "exchange", _("交换")
    COPY = "copy", _("复制")


class DonorKind(models.TextChoices):
    PERSON = "person", _("个人")
    ORGANISATION = "organisation", _("组织")


class AcquisitionStatus(models.TextChoices):
    NEGOTIATING = "negotiating", _("洽谈中")
    AGREED = "agreed", _("已签协议")
    RECEIVED = "received", _("已接收实物")
    ACCESSIONED = "accessioned", _("已入藏")
    DECLINED = "declined", _("未征集")


class Acquisition(models.Model):
    """征集: donations, purchases and deposits from people and organisations."""

    number = models.CharField(_("征集编号"), max_length=40, unique=True)
    campaign = models.ForeignKey(
        AcquisitionCampaign,
        verbose_name=_("征集活动"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="acquisitions",
    )
    method = models.CharField(_("征集方式"), max_length=16, choices=AcquisitionMethod.choices)
    donor_name = models.CharField(_("提供者"), max_length=200)
    donor_kind = models.CharField(_("提供者类型"), max_length=16, choices=DonorKind.choices)
    donor_contact = models.CharField(_("联系方式"), max_length=200, blank=True)
    agreement_no = models.CharField(_("协议编号"), max_length=60, blank=True)
    agreement_date = models.DateField(_("协议日期"), null=True, blank=True)
    price = models.DecimalField(
        _("价格（元）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    deposit_until = models.DateField(_("寄存期限"), null=True, blank=True)
    rights = models.TextField(
        _("权利说明"), blank=True, help_text=_("著作权归属、利用限制、是否允许公布等")
    )
    description = models.TextField(_("接收内容"), blank=True)
    quantity = models.CharField(_("数量"), max_length=100, blank=True)
    received_at = models.DateField(_("接收日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=AcquisitionStatus.choices,
        default=AcquisitionStatus.NEGOTIATING,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("征集")
        verbose_name_plural = _("征集")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.number} {self.donor_name}"
