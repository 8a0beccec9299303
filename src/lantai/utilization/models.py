"""档案利用 models: use requests 利用申请, their listed records, attachments, watermarked
electronic copies 电子副本 and certified copies 档案证明.

A request moves 待受理 → 受理 → 审核 → 提供 → 办结; 退回 and 不予提供 end it early with a
reason. Every move is a ``RequestEvent`` row (for the request's own history page) and an audit
entry (for the tamper-evident trail).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    APPROVED = "approved", _("已审核")
    PROVIDED = "provided", _("已提供")
    CLOSED = "closed", _("已办结")
    RETURNED = "returned", _("已退回")
    REFUSED = "refused", _("不予提供")


#: States in which the request is still being handled (due dates apply, reminders go out).
OPEN_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.ACCEPTED,
    RequestStatus.APPROVED,
    RequestStatus.PROVIDED,
)
#: States that end a request.
FINAL_STATUSES = (RequestStatus.CLOSED, RequestStatus.RETURNED, RequestStatus.REFUSED)


class Delivery(models.TextChoices):
    """利用方式 the applicant wants."""

    ECOPY = "ecopy", _("电子副本")
    CERTIFICATE = "certificate", _("档案证明")
    READING = "reading", _("到馆查阅")


class Purpose(models.Model):
    """利用目的 (查证, 编史修志, 学术研究, 工作查考, 个人其他 …): a list the archive edits."""

    code = models.CharField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)
    active = models.BooleanField(_("在用"), default=True)

    class Meta:
        verbose_name = _("利用目的")
        verbose_name_plural = _("利用目的")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """节假日 (a weekday off) or 调休工作日 (a weekend day worked): due dates count working days."""

    date = models.DateField(_("日期"), unique=True)
    name = models.CharField(_("名称"), max_length=50, blank=True)
    workday = models.BooleanField(
        _("调休上班"), default=False, help_text=_("勾选表示该日虽逢周末但需上班。")
    )

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class UseRequest(models.Model):
    """利用申请: a citizen's own (``applicant``) or a walk-in 到馆登记 recorded by staff."""

    number = models.CharField(_("申请编号"), max_length=20, unique=True)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人账户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="use_requests",
    )
    applicant_name = models.CharField(_("申请人姓名"), max_length=50)
    applicant_id_number = models.CharField(_("证件号码"), max_length=32, blank=True)
    applicant_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    walk_in = models.BooleanField(_("到馆登记"), default=False)
    purpose = models.ForeignKey(Purpose, verbose_name=_("利用目的"), on_delete=models.PROTECT)
    description = models.TextField(_("需求说明"), blank=True)
    delivery = models.CharField(_("利用方式"), max_length=16, choices=Delivery.choices)
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=RequestStatus.choices,
        default=RequestStatus.SUBMITTED,
        db_index=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_use_requests",
    )
    due_date = models.DateField(_("本环节期限"), null=True, blank=True, db_index=True)
    final_due_date = models.DateField(_("办结期限"), null=True, blank=True)
    reason = models.TextField(_("退回或不予提供理由"), blank=True)
    ecopy_expires_at = models.DateTimeField(_("电子副本下载截止"), null=True, blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True, db_index=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    provided_at = models.DateTimeField(_("提供时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("最近提醒"), null=True, blank=True)

    class Meta:
        verbose_name = _("利用申请")
        verbose_name_plural = _("利用申请")
        ordering = ["-created_at", "-pk"]
        permissions = [("handle_request", _("办理利用申请"))]
        indexes = [models.Index(fields=["status", "due_date"], name="use_status_due")]

    def __str__(self) -> str:
        return f"{self.number} {self.applicant_name}"

    def get_absolute_url(self) -> str:
        # The applicant's own page (the portal's personal page links here); staff use /use/.
        return reverse("utilization_public:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RequestedItem(models.Model):
    """A record the applicant asked for, by 档号; ``item`` is set when the 档号 was found.

    ``approved`` records staff's explicit decision to provide a record the public may not see
    (控制使用 …) to this applicant only, with its reason.
    """

    request = models.ForeignKey(
        UseRequest, verbose_name=_("利用申请"), on_delete=models.CASCADE, related_name="items"
    )
    reference_code = models.CharField(_("档号"), max_length=100)
    item = models.ForeignKey(
        "holdings.Item",
        verbose_name=_("件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="use_requests",
    )
    approved = models.BooleanField(_("特批提供"), default=False)
    approval_reason = models.CharField(_("特批理由"), max_length=300, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("特批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("特批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("申请档案")
        verbose_name_plural = _("申请档案")
        ordering = ["request_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "reference_code"], name="use_requested_item_unique"
            )
        ]

    def __str__(self) -> str:
        return self.reference_code


class Attachment(models.Model):
    """申请材料 (proof of identity, authorisation letter …), stored by the storage app."""

    request = models.ForeignKey(
        UseRequest, verbose_name=_("利用申请"), on_delete=models.CASCADE, related_name="attachments"
    )
    object = models.ForeignKey(
        "storage.StoredObject",
        verbose_name=_("存储对象"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    filename = models.CharField(_("文件名"), max_length=255)
    mime = models.CharField(_("媒体类型"), max_length=100, blank=True)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["request_id", "pk"]

    def __str__(self) -> str:
        return self.filename


class ECopy(models.Model):
    """电子副本: one watermarked access copy of one record, made for one request."""

    request = models.ForeignKey(
        UseRequest, verbose_name=_("利用申请"), on_delete=models.CASCADE, related_name="ecopies"
    )
    requested_item = models.ForeignKey(
        RequestedItem, verbose_name=_("申请档案"), on_delete=models.CASCADE, related_name="ecopies"
    )
    object = models.ForeignKey(
        "storage.StoredObject",
        verbose_name=_("存储对象"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    filename = models.CharField(_("文件名"), max_length=255)
    mime = models.CharField(_("媒体类型"), max_length=100, blank=True)
    watermark = models.CharField(_("水印文字"), max_length=200)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    downloads = models.PositiveIntegerField(_("下载次数"), default=0)

    class Meta:
        verbose_name = _("电子副本")
        verbose_name_plural = _("电子副本")
        ordering = ["request_id", "pk"]

    def __str__(self) -> str:
        return self.filename


class Certificate(models.Model):
    """档案证明: a certified copy PDF with a verification code 验证码 and QR code.

    The code itself is not kept: only its SHA-256 (``code_hash``), so a copy of the database
    does not hand out valid codes; ``code_tail`` lets staff tell certificates apart.
    """

    request = models.ForeignKey(
        UseRequest,
        verbose_name=_("利用申请"),
        on_delete=models.CASCADE,
        related_name="certificates",
    )
    requested_item = models.ForeignKey(
        RequestedItem,
        verbose_name=_("申请档案"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="certificates",
    )
    code_hash = models.CharField(_("验证码摘要"), max_length=64, unique=True)
    code_tail = models.CharField(_("验证码末四位"), max_length=4)
    reference_code = models.CharField(_("档号"), max_length=100)
    title = models.CharField(_("题名"), max_length=500)
    content = models.TextField(_("证明内容"))
    requester_name = models.CharField(_("申请人"), max_length=50)
    object = models.ForeignKey(
        "storage.StoredObject",
        verbose_name=_("存储对象"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    signed = models.BooleanField(_("已数字签名"), default=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("出具人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("出具时间"), db_index=True)
    revoked = models.BooleanField(_("已作废"), default=False)

    class Meta:
        verbose_name = _("档案证明")
        verbose_name_plural = _("档案证明")
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.reference_code} …{self.code_tail}"


class RequestEvent(models.Model):
    """One step in a request's history (also written to the audit trail)."""

    request = models.ForeignKey(
        UseRequest, verbose_name=_("利用申请"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("说明"), blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["request_id", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.action}"
