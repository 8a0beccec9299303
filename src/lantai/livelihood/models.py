"""民生档案 models: the person index 人员索引 over livelihood records, partner archives 协作馆
and cross-archive requests 跨馆出证 (异地查档).

No 居民身份证号 is kept in the clear: the index holds its HMAC (the portal's
``id_number_hash``), requests hold the hash, the mask and (until it has been forwarded) a
Fernet ciphertext so the receiving archive can pass it to the holding archive.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lantai.holdings.models import Category, Item


class PersonFields(models.Model):
    """人员字段配置: which ``Item.extra`` keys of a livelihood category name a person.

    ``roles`` is a list of {"role": "男方", "name": ["男方"], "id": ["男方身份证号"],
    "birth": ["男方出生年份"]}; each list names candidate keys, the first present wins.
    Categories without a row use ``lantai.livelihood.persons.DEFAULT_ROLES``.
    """

    category = models.OneToOneField(
        Category, verbose_name=_("门类"), on_delete=models.CASCADE, related_name="person_fields"
    )
    roles = models.JSONField(_("人员字段"), default=list)

    class Meta:
        verbose_name = _("人员字段配置")
        verbose_name_plural = _("人员字段配置")

    def __str__(self) -> str:
        return str(self.category)


class PersonRef(models.Model):
    """人员索引: one person named by a livelihood record (本人, 男方, 女方 …)."""

    item = models.ForeignKey(
        Item, verbose_name=_("件"), on_delete=models.CASCADE, related_name="person_refs"
    )
    role = models.CharField(_("身份"), max_length=20)
    # Normalised: NFKC, no spaces, simplified characters (opencc t2s).
    name = models.CharField(_("姓名"), max_length=50)
    id_hash = models.CharField(_("身份证号摘要"), max_length=64, null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)

    class Meta:
        verbose_name = _("人员索引")
        verbose_name_plural = _("人员索引")
        permissions = [
            ("search_persons", _("查询民生档案人员索引")),
            ("manage_cross_requests", _("办理跨馆出证")),
            ("manage_partners", _("管理协作馆")),
        ]
        indexes = [
            models.Index(fields=["name", "id_hash"], name="person_name_id"),
            models.Index(fields=["name", "birth_year"], name="person_name_birth"),
            models.Index(fields=["id_hash"], name="person_id"),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.name}"


class PartnerArchive(models.Model):
    """协作馆: another archive (each Lantai instance is one archive) we forward requests to
    and accept requests from.

    ``inbound_hash`` is the SHA-256 of the token the partner presents to us; ``outbound_token``
    (encrypted) is the token we present to the partner's API.
    """

    code = models.CharField(_("档案馆代码"), max_length=20, unique=True)
    name = models.CharField(_("档案馆名称"), max_length=100)
    region = models.CharField(_("地区"), max_length=100, blank=True)
    contact = models.CharField(_("联系方式"), max_length=200, blank=True)
    base_url = models.URLField(_("接口地址"), blank=True)
    inbound_prefix = models.CharField(max_length=16, blank=True, db_index=True)
    inbound_hash = models.CharField(max_length=64, blank=True)
    outbound_token = models.TextField(blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("协作馆")
        verbose_name_plural = _("协作馆")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Direction(models.TextChoices):
    OUTGOING = "outgoing", _("本馆受理、外馆协办")
    INCOMING = "incoming", _("外馆受理、本馆协办")
    LOCAL = "local", _("本馆受理并办理")


class CrossStatus(models.TextChoices):
    SUBMITTED = "submitted", _("申请")
    ACCEPTED = "accepted", _("受理")
    ASSISTING = "assisting", _("协办")
    ANSWERED = "answered", _("已答复")
    DONE = "done", _("办结")
    RETURNED = "returned", _("退回")
    NO_RECORD = "no_record", _("无档")


class CrossResult(models.TextChoices):
    NONE = "", _("未答复")
    FOUND = "found", _("查有档案")
    NOT_FOUND = "not_found", _("查无档案")


class CrossRequest(models.Model):
    """跨馆出证申请: 申请 → 受理 (identity checked by the receiving archive 受理馆) → 协办
    (the holding archive 协办馆 answers within 4 working days) → 办结 (applicant told within
    2 working days); or 退回 / 无档."""

    number = models.CharField(_("申请编号"), max_length=40)
    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices)
    partner = models.ForeignKey(
        PartnerArchive,
        verbose_name=_("协作馆"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    receiving_code = models.CharField(_("受理馆代码"), max_length=20)
    receiving_name = models.CharField(_("受理馆"), max_length=100)
    holding_code = models.CharField(_("协办馆代码"), max_length=20)
    holding_name = models.CharField(_("协办馆"), max_length=100)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人账户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cross_requests",
    )
    applicant_name = models.CharField(_("申请人姓名"), max_length=50)
    applicant_id_hash = models.CharField(max_length=64, blank=True)
    applicant_id_masked = models.CharField(_("身份证号（脱敏）"), max_length=18, blank=True)
    # Until forwarded: the holding archive hashes it with its own key.
    applicant_id_encrypted = models.TextField(blank=True)
    applicant_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    category_code = models.CharField(_("档案门类"), max_length=8, blank=True)
    records_sought = models.TextField(_("所需档案"))
    purpose = models.CharField(_("利用目的"), max_length=200)
    items = models.ManyToManyField(Item, verbose_name=_("所涉档案"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=CrossStatus.choices, default=CrossStatus.SUBMITTED
    )
    result = models.CharField(
        _("答复结果"), max_length=10, choices=CrossResult.choices, default="", blank=True
    )
    answer_note = models.TextField(_("答复说明"), blank=True)
    reference_codes = models.TextField(_("档号"), blank=True)
    certificate = models.ForeignKey(
        "storage.StoredObject",
        verbose_name=_("档案证明"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_on = models.DateField(_("办理时限"), null=True, blank=True)
    forward_error = models.TextField(_("转发错误"), blank=True)
    answer_error = models.TextField(_("回复错误"), blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("跨馆出证申请")
        verbose_name_plural = _("跨馆出证申请")
        ordering = ["-created_at"]
        constraints = [
            # Our own numbers are unique; an incoming request keeps the sender's number,
            # unique per sender.
            models.UniqueConstraint(
                fields=["number"], condition=~Q(direction="incoming"), name="cross_own_number"
            ),
            models.UniqueConstraint(
                fields=["partner", "number"],
                condition=Q(direction="incoming"),
                name="cross_incoming_number",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="cross_queue")]

    def __str__(self) -> str:
        return f"{self.number} {self.records_sought[:30]}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("livelihood_public:request", args=[self.pk])


class CrossEvent(models.Model):
    """办理记录: every step, who and when (also in the audit trail)."""

    request = models.ForeignKey(CrossRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    actor = models.CharField(_("办理人"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=30)
    status_before = models.CharField(
        _("原状态"), max_length=12, blank=True, choices=CrossStatus.choices
    )
    status_after = models.CharField(
        _("新状态"), max_length=12, blank=True, choices=CrossStatus.choices
    )
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.request} {self.action}"
