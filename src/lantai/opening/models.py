"""开放鉴定 models: review batches 鉴定批次, their entries 鉴定条目 (one volume or one standalone
item each, so a batch counts in 卷(件)), the creating units' opinions 形成单位意见 and the
deferrals 延期开放 still running.

Holdings' own ``openness`` knows only 未鉴定/开放/控制使用; a deferral is kept here (an item
deferred is 控制使用 in holdings and comes due again when its deferral year arrives).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lantai.holdings.models import Category, Fonds, Item, Openness, Unit, Volume


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("鉴定中")
    SUBMITTED = "submitted", _("待审批")
    APPROVED = "approved", _("已审批")


class Decision(models.TextChoices):
    """鉴定意见 per 卷(件)."""

    OPEN = "open", _("开放")
    DEFER = "defer", _("延期开放")
    RESTRICT = "restrict", _("控制使用")


#: The holdings openness each decision sets when a batch is approved.
DECISION_OPENNESS = {
    Decision.OPEN: Openness.OPEN,
    Decision.DEFER: Openness.RESTRICTED,
    Decision.RESTRICT: Openness.RESTRICTED,
}


class OpinionKind(models.TextChoices):
    AGREE = "agree", _("同意鉴定意见")
    OBJECT = "object", _("有不同意见")


class ReviewBatch(models.Model):
    """鉴定批次: a set of 卷(件) reviewed together, then approved (审批) by a second person."""

    number = models.CharField(_("批次号"), max_length=32, unique=True)
    title = models.CharField(_("批次说明"), max_length=200, blank=True)
    review_year = models.PositiveSmallIntegerField(_("鉴定年度"))
    status = models.CharField(
        _("状态"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Everyone who recorded a decision; the approver must be none of them.
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("鉴定人"), related_name="+", blank=True
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    approval_note = models.TextField(_("审批意见"), blank=True)
    return_note = models.TextField(_("退回说明"), blank=True)

    class Meta:
        verbose_name = _("鉴定批次")
        verbose_name_plural = _("鉴定批次")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("review", _("开放鉴定")),
            ("approve_review", _("审批开放鉴定")),
            ("record_opinion", _("填写形成单位意见")),
        ]
        indexes = [models.Index(fields=["status", "approved_at"], name="opening_batch_status")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip()

    @property
    def editable(self) -> bool:
        return self.status == BatchStatus.DRAFT


class ReviewEntry(models.Model):
    """鉴定条目: one volume (its 卷内文件 follow it) or one standalone item in a batch."""

    batch = models.ForeignKey(ReviewBatch, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(
        Item,
        verbose_name=_("件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    volume = models.ForeignKey(
        Volume,
        verbose_name=_("案卷"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Copied from the record so that scoping (a unit's entries) and the report need no join
    # into a million-row holdings table.
    fonds = models.ForeignKey(Fonds, verbose_name=_("全宗"), on_delete=models.PROTECT)
    unit = models.ForeignKey(Unit, verbose_name=_("形成单位"), on_delete=models.PROTECT)
    category = models.ForeignKey(Category, verbose_name=_("门类"), on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField(_("年度"))
    reference_code = models.CharField(_("档号"), max_length=100, blank=True)
    title = models.CharField(_("题名"), max_length=500)
    due_year = models.PositiveSmallIntegerField(_("到期年度"))
    previous_openness = models.CharField(_("原开放状态"), max_length=16, choices=Openness.choices)
    decision = models.CharField(_("鉴定意见"), max_length=16, choices=Decision.choices, blank=True)
    defer_until = models.PositiveSmallIntegerField(_("延期至（年度）"), null=True, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("鉴定人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("鉴定时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("鉴定条目")
        verbose_name_plural = _("鉴定条目")
        ordering = ["batch", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(item__isnull=False, volume__isnull=True)
                | Q(item__isnull=True, volume__isnull=False),
                name="opening_entry_one_record",
            ),
            models.UniqueConstraint(
                fields=["batch", "item"], condition=Q(item__isnull=False), name="opening_entry_item"
            ),
            models.UniqueConstraint(
                fields=["batch", "volume"],
                condition=Q(volume__isnull=False),
                name="opening_entry_volume",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "unit"], name="opening_entry_unit"),
            models.Index(fields=["item"], name="opening_entry_item_idx"),
            models.Index(fields=["volume"], name="opening_entry_volume_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference_code or '—'} {self.title}"

    @property
    def record(self) -> Item | Volume:
        return self.item if self.item_id else self.volume

    @property
    def kind_label(self) -> str:
        return str(_("件")) if self.item_id else str(_("卷"))

    @property
    def early(self) -> bool:
        """提前开放: opened before its opening term is reached."""
        return self.decision == Decision.OPEN and self.due_year > self.batch.review_year


class UnitOpinion(models.Model):
    """形成单位意见: the creating unit's opinion on its own records in a batch (档案法 Art. 30)."""

    batch = models.ForeignKey(ReviewBatch, on_delete=models.CASCADE, related_name="opinions")
    unit = models.ForeignKey(Unit, verbose_name=_("形成单位"), on_delete=models.PROTECT)
    kind = models.CharField(_("意见"), max_length=16, choices=OpinionKind.choices)
    text = models.TextField(_("意见说明"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填写人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("填写时间"), auto_now=True)

    class Meta:
        verbose_name = _("形成单位意见")
        verbose_name_plural = _("形成单位意见")
        constraints = [
            models.UniqueConstraint(fields=["batch", "unit"], name="opening_opinion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.get_kind_display()}"


class Deferral(models.Model):
    """延期开放 still running: the record comes due again in ``until_year``."""

    item = models.OneToOneField(
        Item, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    volume = models.OneToOneField(
        Volume, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    fonds = models.ForeignKey(Fonds, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    until_year = models.PositiveSmallIntegerField(_("延期至（年度）"))
    entry = models.ForeignKey(ReviewEntry, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("延期开放")
        verbose_name_plural = _("延期开放")
        constraints = [
            models.CheckConstraint(
                condition=Q(item__isnull=False, volume__isnull=True)
                | Q(item__isnull=True, volume__isnull=False),
                name="opening_deferral_one_record",
            ),
        ]
        indexes = [models.Index(fields=["until_year"], name="opening_deferral_until")]

    def __str__(self) -> str:
        return f"{self.item_id or self.volume_id} → {self.until_year}"
