"""宣传与编研 models: visits 参观接待, exhibitions 展览 and columns 专题栏目, calls for material
征集公告 and public offers, compilation 编研 and oral history 口述档案.

Every write goes through ``outreach.services`` (permission check, audit entry, transaction).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# --- visits 参观接待 ----------------------------------------------------------------------------


class ClosedDay(models.Model):
    """闭馆日: no visit slots are generated on it and existing ones are closed."""

    date = models.DateField(_("日期"), unique=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("闭馆日")
        verbose_name_plural = _("闭馆日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.reason}"


class VisitSlot(models.Model):
    """参观时段: a date and start time with a capacity in people.

    ``booked`` is the number of people held by pending, confirmed and checked-in bookings;
    it only changes through a conditional UPDATE (``booked + n <= capacity``), so two
    simultaneous bookings can never overbook the slot.
    """

    date = models.DateField(_("日期"))
    start = models.TimeField(_("开始时间"))
    capacity = models.PositiveIntegerField(_("容量（人）"), default=60)
    booked = models.PositiveIntegerField(_("已预约人数"), default=0)
    closed = models.BooleanField(_("停止预约"), default=False)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("参观时段")
        verbose_name_plural = _("参观时段")
        ordering = ["date", "start"]
        permissions = [("manage_visits", _("管理参观接待"))]
        constraints = [
            models.UniqueConstraint(fields=["date", "start"], name="outreach_slot_unique"),
            models.CheckConstraint(
                condition=Q(booked__lte=models.F("capacity")), name="outreach_slot_capacity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.start:%H:%M}"

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)


class BookingStatus(models.TextChoices):
    PENDING = "pending", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    DECLINED = "declined", _("已婉拒")
    CANCELLED = "cancelled", _("已取消")
    CHECKED_IN = "checked_in", _("已签到")
    NO_SHOW = "no_show", _("未到场")


#: Statuses whose people hold places in their slot.
HOLDING = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


class VisitBooking(models.Model):
    """参观预约: a group's booking of one slot, found again by its reference 预约编号."""

    reference = models.CharField(_("预约编号"), max_length=20, unique=True)
    slot = models.ForeignKey(
        VisitSlot, verbose_name=_("参观时段"), on_delete=models.PROTECT, related_name="bookings"
    )
    organisation = models.CharField(_("单位/团体名称"), max_length=200)
    contact = models.CharField(_("联系人"), max_length=100)
    phone = models.CharField(_("联系电话"), max_length=40)
    email = models.EmailField(_("电子邮箱"), blank=True)
    people = models.PositiveIntegerField(_("参观人数"))
    purpose = models.TextField(_("参观目的"), blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=BookingStatus.choices, default=BookingStatus.PENDING
    )
    reason = models.CharField(_("婉拒原因"), max_length=300, blank=True)
    actual_people = models.PositiveIntegerField(_("实到人数"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("参观预约")
        verbose_name_plural = _("参观预约")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="outreach_booking_status")]

    def __str__(self) -> str:
        return f"{self.reference} {self.organisation}"


# --- exhibitions 展览 ---------------------------------------------------------------------------


class PublishStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class Column(models.Model):
    """专题栏目: groups online exhibitions and articles on the portal."""

    title = models.CharField(_("栏目名称"), max_length=200)
    intro = models.TextField(_("栏目介绍"), blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=PublishStatus.choices, default=PublishStatus.DRAFT
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("专题栏目")
        verbose_name_plural = _("专题栏目")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.title


class Article(models.Model):
    """专题文章: a text published in a column."""

    column = models.ForeignKey(
        Column, verbose_name=_("专题栏目"), on_delete=models.CASCADE, related_name="articles"
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    status = models.CharField(
        _("状态"), max_length=16, choices=PublishStatus.choices, default=PublishStatus.DRAFT
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("专题文章")
        verbose_name_plural = _("专题文章")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Exhibition(models.Model):
    """展览: curated from holdings; published on the portal as an online exhibition 网上展览."""

    title = models.CharField(_("展览名称"), max_length=200)
    summary = models.CharField(_("简介"), max_length=500, blank=True)
    intro = models.TextField(_("前言"), blank=True)
    column = models.ForeignKey(
        Column,
        verbose_name=_("专题栏目"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exhibitions",
    )
    venue = models.CharField(_("展出地点"), max_length=200, blank=True)
    start_date = models.DateField(_("开展日期"), null=True, blank=True)
    end_date = models.DateField(_("闭展日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=PublishStatus.choices, default=PublishStatus.DRAFT
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    views = models.PositiveIntegerField(_("网上浏览次数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("展览")
        verbose_name_plural = _("展览")
        ordering = ["-published_at", "-id"]
        permissions = [("manage_exhibitions", _("管理展览与征集公告"))]

    def __str__(self) -> str:
        return self.title


class ExhibitionSection(models.Model):
    """展览单元."""

    exhibition = models.ForeignKey(
        Exhibition, verbose_name=_("展览"), on_delete=models.CASCADE, related_name="sections"
    )
    title = models.CharField(_("单元名称"), max_length=200)
    text = models.TextField(_("单元说明"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("展览单元")
        verbose_name_plural = _("展览单元")
        ordering = ["exhibition", "sort_order", "id"]

    def __str__(self) -> str:
        return self.title


class Exhibit(models.Model):
    """展品: a holdings item shown in a section with a caption 说明文字.

    Whether the public sees it is decided at every request by holdings.services.visible_items,
    so an item restricted after publication drops out of the online exhibition.
    """

    section = models.ForeignKey(
        ExhibitionSection,
        verbose_name=_("展览单元"),
        on_delete=models.CASCADE,
        related_name="exhibits",
    )
    item = models.ForeignKey(
        "holdings.Item", verbose_name=_("档案"), on_delete=models.PROTECT, related_name="+"
    )
    caption = models.TextField(_("说明文字"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("展品")
        verbose_name_plural = _("展品")
        ordering = ["section", "sort_order", "id"]

    def __str__(self) -> str:
        return str(self.item)


# --- calls for material 征集公告 ------------------------------------------------------------------


class MaterialCall(models.Model):
    """征集公告: a public call for material, optionally for an exhibition."""

    title = models.CharField(_("公告标题"), max_length=200)
    text = models.TextField(_("公告内容"))
    exhibition = models.ForeignKey(
        Exhibition,
        verbose_name=_("关联展览"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    campaign = models.ForeignKey(
        "accession.AcquisitionCampaign",
        verbose_name=_("征集活动"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=PublishStatus.choices, default=PublishStatus.DRAFT
    )
    deadline = models.DateField(_("截止日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("征集公告")
        verbose_name_plural = _("征集公告")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class OfferStatus(models.TextChoices):
    NEW = "new", _("待处理")
    ACCEPTED = "accepted", _("拟征集")
    DECLINED = "declined", _("不予征集")


class MaterialOffer(models.Model):
    """线索/捐赠意向: what a member of the public offers in answer to a call."""

    reference = models.CharField(_("登记编号"), max_length=20, unique=True)
    call = models.ForeignKey(
        MaterialCall, verbose_name=_("征集公告"), on_delete=models.PROTECT, related_name="offers"
    )
    name = models.CharField(_("姓名"), max_length=100)
    contact = models.CharField(_("联系方式"), max_length=200)
    description = models.TextField(_("材料描述"))
    status = models.CharField(
        _("状态"), max_length=16, choices=OfferStatus.choices, default=OfferStatus.NEW
    )
    note = models.TextField(_("处理意见"), blank=True)
    acquisition = models.ForeignKey(
        "accession.Acquisition",
        verbose_name=_("征集记录"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("征集线索")
        verbose_name_plural = _("征集线索")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"


class OfferPhoto(models.Model):
    """An offer's photo, stored through the storage app."""

    offer = models.ForeignKey(MaterialOffer, on_delete=models.CASCADE, related_name="photos")
    object = models.ForeignKey("storage.StoredObject", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("文件名"), max_length=255)
    mime = models.CharField(_("媒体类型"), max_length=100)

    class Meta:
        verbose_name = _("线索照片")
        verbose_name_plural = _("线索照片")
        ordering = ["offer", "id"]

    def __str__(self) -> str:
        return self.filename


# --- compilation 编研 -----------------------------------------------------------------------------


class CompilationStatus(models.TextChoices):
    PLANNED = "planned", _("立项")
    ACTIVE = "active", _("进行中")
    DONE = "done", _("已完成")


class CompilationProject(models.Model):
    """编研项目."""

    title = models.CharField(_("项目名称"), max_length=200)
    description = models.TextField(_("项目说明"), blank=True)
    team = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("项目组"), blank=True, related_name="+"
    )
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=CompilationStatus.choices,
        default=CompilationStatus.PLANNED,
    )
    start_date = models.DateField(_("开始日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("编研项目")
        verbose_name_plural = _("编研项目")
        ordering = ["-created_at"]
        permissions = [("manage_compilation", _("管理编研项目"))]

    def __str__(self) -> str:
        return self.title


class CompilationSource(models.Model):
    """编研选材: a holdings item used by a project, with the compiler's note."""

    project = models.ForeignKey(
        CompilationProject, on_delete=models.CASCADE, related_name="sources"
    )
    item = models.ForeignKey(
        "holdings.Item", verbose_name=_("档案"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("选材说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("编研选材")
        verbose_name_plural = _("编研选材")
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "item"], name="outreach_source_unique")
        ]

    def __str__(self) -> str:
        return str(self.item)


class PublicationKind(models.TextChoices):
    BOOK = "book", _("书")
    COLLECTION = "collection", _("汇编")
    ARTICLE = "article", _("文章")
    EXHIBITION = "exhibition", _("展览")


class Publication(models.Model):
    """编研成果."""

    project = models.ForeignKey(
        CompilationProject, on_delete=models.CASCADE, related_name="publications"
    )
    title = models.CharField(_("成果名称"), max_length=200)
    kind = models.CharField(_("成果类型"), max_length=16, choices=PublicationKind.choices)
    isbn = models.CharField(_("ISBN"), max_length=20, blank=True)
    year = models.PositiveSmallIntegerField(_("出版年度"))
    file = models.ForeignKey(
        "storage.StoredObject",
        verbose_name=_("文件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    filename = models.CharField(_("文件名"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("编研成果")
        verbose_name_plural = _("编研成果")
        ordering = ["-year", "id"]

    def __str__(self) -> str:
        return self.title


# --- oral history 口述档案 ------------------------------------------------------------------------


class OralHistoryProject(models.Model):
    """口述项目, e.g. forty years of a technology district told by those who worked there.

    The resulting items go into ``fonds``/``series`` under the 口述档案 category (KS).
    """

    title = models.CharField(_("项目名称"), max_length=200)
    description = models.TextField(_("项目说明"), blank=True)
    fonds = models.ForeignKey(
        "holdings.Fonds", verbose_name=_("归入全宗"), on_delete=models.PROTECT, related_name="+"
    )
    series = models.ForeignKey(
        "holdings.Series",
        verbose_name=_("机构(问题)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("口述项目")
        verbose_name_plural = _("口述项目")
        ordering = ["-created_at"]
        permissions = [("manage_oral_history", _("管理口述档案"))]

    def __str__(self) -> str:
        return self.title


class Interviewee(models.Model):
    """受访人. The contact is personal information: staff screens only, never exported."""

    project = models.ForeignKey(
        OralHistoryProject, on_delete=models.CASCADE, related_name="interviewees"
    )
    name = models.CharField(_("姓名"), max_length=100)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)
    bio = models.TextField(_("简介"), blank=True)
    contact = models.CharField(_("联系方式"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("受访人")
        verbose_name_plural = _("受访人")
        ordering = ["project", "name"]

    def __str__(self) -> str:
        return self.name


class Interview(models.Model):
    """访谈: one recorded session with consent and rights 授权与权利."""

    project = models.ForeignKey(
        OralHistoryProject, on_delete=models.CASCADE, related_name="interviews"
    )
    interviewee = models.ForeignKey(
        Interviewee, verbose_name=_("受访人"), on_delete=models.PROTECT, related_name="interviews"
    )
    title = models.CharField(_("访谈题名"), max_length=300)
    date = models.DateField(_("访谈日期"))
    place = models.CharField(_("访谈地点"), max_length=200, blank=True)
    interviewer = models.CharField(_("采访人"), max_length=100)
    duration = models.PositiveIntegerField(_("时长（秒）"), null=True, blank=True)
    consent = models.ForeignKey(
        "storage.StoredObject",
        verbose_name=_("授权书"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    consent_filename = models.CharField(_("授权书文件名"), max_length=255, blank=True)
    rights = models.TextField(_("权利声明"), blank=True)
    embargo_until = models.DateField(
        _("限制利用截止日期"), null=True, blank=True, help_text=_("此日期前不向公众提供")
    )
    permitted_uses = models.CharField(
        _("许可用途"), max_length=300, blank=True, help_text=_("如：馆内查阅、展览、出版")
    )
    item = models.OneToOneField(
        "holdings.Item",
        verbose_name=_("口述档案"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("访谈")
        verbose_name_plural = _("访谈")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return self.title


class InterviewMedia(models.Model):
    """访谈音视频: a wav/mp3/mp4 file stored through the storage app."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="media")
    object = models.ForeignKey("storage.StoredObject", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("文件名"), max_length=255)
    format = models.CharField(_("格式"), max_length=8)
    mime = models.CharField(_("媒体类型"), max_length=100)
    duration = models.FloatField(_("时长（秒）"), null=True, blank=True)

    class Meta:
        verbose_name = _("访谈音视频")
        verbose_name_plural = _("访谈音视频")
        ordering = ["interview", "id"]

    def __str__(self) -> str:
        return self.filename


class TranscriptSegment(models.Model):
    """转写稿片段: time-coded text of one speaker."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="segments")
    seq = models.PositiveIntegerField(_("序号"))
    start = models.FloatField(_("开始（秒）"))
    end = models.FloatField(_("结束（秒）"), null=True, blank=True)
    speaker = models.CharField(_("说话人"), max_length=100, blank=True)
    text = models.TextField(_("文字"))

    class Meta:
        verbose_name = _("转写稿片段")
        verbose_name_plural = _("转写稿片段")
        ordering = ["interview", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["interview", "seq"], name="outreach_segment_seq")
        ]

    def __str__(self) -> str:
        return f"{self.start:.0f}s {self.speaker}"
