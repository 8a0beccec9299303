"""业务指导 models: agency evaluation 机关档案工作测评 (versioned indicator trees, self-assessment,
inspector's review, grade), administrative inspections 档案行政执法检查 with rectification orders
整改通知, training 培训 of the district's records staff and the register of archival
professionals 档案专业人员.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- evaluation 测评 ---------------------------------------------------------------------------


class SetStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    GOOD = "good", _("良好")
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")


#: Grades best first (a cap moves a grade down this list, never up).
GRADE_ORDER = [Grade.EXCELLENT, Grade.GOOD, Grade.PASS, Grade.FAIL]


class IndicatorSet(models.Model):
    """测评指标体系: one year's versioned indicator tree and its grading thresholds."""

    year = models.PositiveSmallIntegerField(_("测评年度"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=12, choices=SetStatus.choices, default=SetStatus.DRAFT
    )
    excellent_min = models.DecimalField(
        _("优秀分数线"), max_digits=6, decimal_places=2, default=Decimal("90")
    )
    good_min = models.DecimalField(
        _("良好分数线"), max_digits=6, decimal_places=2, default=Decimal("80")
    )
    pass_min = models.DecimalField(
        _("合格分数线"), max_digits=6, decimal_places=2, default=Decimal("60")
    )
    target_excellent_percent = models.DecimalField(
        _("优秀率目标（%）"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("90"),
        help_text=_("例如 90 表示力争九成单位达到优秀"),
    )
    note = models.TextField(_("说明"), blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("测评指标体系")
        verbose_name_plural = _("测评指标体系")
        ordering = ["-year", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["year", "version"], name="indicatorset_year_version")
        ]
        permissions = [
            ("manage_evaluation", _("管理测评指标与评审")),
            ("inspect", _("执法检查与整改验收")),
            ("manage_training", _("管理培训与专业人员")),
            ("respond", _("本单位自评与整改反馈")),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name} v{self.version}"


class KeyItem(models.TextChoices):
    NONE = "", _("一般项")
    VETO = "veto", _("一票否决")
    REQUIRED = "required", _("必备项")


class Indicator(models.Model):
    """测评指标: a section (has children) or a scored item (a leaf) of an indicator tree."""

    indicator_set = models.ForeignKey(
        IndicatorSet, on_delete=models.CASCADE, related_name="indicators"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级指标"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
    )
    code = models.CharField(_("指标编号"), max_length=20)
    title = models.CharField(_("指标名称"), max_length=300)
    max_points = models.DecimalField(_("分值"), max_digits=6, decimal_places=2, default=0)
    key_item = models.CharField(
        _("关键项"), max_length=10, choices=KeyItem.choices, default=KeyItem.NONE, blank=True
    )
    guidance = models.TextField(_("评分标准"), blank=True)
    evidence_required = models.TextField(_("佐证材料要求"), blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("测评指标")
        verbose_name_plural = _("测评指标")
        ordering = ["indicator_set", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["indicator_set", "code"], name="indicator_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class EvaluationStatus(models.TextChoices):
    SELF = "self", _("自评")
    REVIEW = "review", _("评审")
    PUBLISHED = "published", _("公布")


class Evaluation(models.Model):
    """测评: one agency's evaluation for one year against a published indicator set."""

    indicator_set = models.ForeignKey(
        IndicatorSet,
        verbose_name=_("测评指标体系"),
        on_delete=models.PROTECT,
        related_name="evaluations",
    )
    unit = models.ForeignKey(
        "holdings.Unit",
        verbose_name=_("被测评单位"),
        on_delete=models.PROTECT,
        related_name="evaluations",
    )
    year = models.PositiveSmallIntegerField(_("测评年度"), db_index=True)
    status = models.CharField(
        _("状态"),
        max_length=12,
        choices=EvaluationStatus.choices,
        default=EvaluationStatus.SELF,
        db_index=True,
    )
    self_total = models.DecimalField(
        _("自评得分"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    total = models.DecimalField(
        _("评审得分"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    grade = models.CharField(_("等次"), max_length=12, choices=Grade.choices, blank=True)
    key_failed = models.CharField(_("关键项未达标"), max_length=300, blank=True)
    comment = models.TextField(_("评审意见"), blank=True)
    self_submitted_at = models.DateTimeField(_("自评提交时间"), null=True, blank=True)
    self_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("评审人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("公布时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("测评")
        verbose_name_plural = _("测评")
        ordering = ["-year", "unit__code"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="evaluation_unit_year")
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.unit}"


class Score(models.Model):
    """One scored indicator of an evaluation: the agency's own score and the inspector's."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="scores")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="scores")
    self_score = models.DecimalField(
        _("自评分"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    self_note = models.TextField(_("自评说明"), blank=True)
    score = models.DecimalField(_("评审分"), max_digits=6, decimal_places=2, null=True, blank=True)
    comment = models.TextField(_("评审意见"), blank=True)
    # For 一票否决/必备 items: the inspector finds the item not met.
    failed = models.BooleanField(_("关键项未达标"), default=False)

    class Meta:
        verbose_name = _("指标得分")
        verbose_name_plural = _("指标得分")
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "indicator"], name="score_unique")
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}:{self.indicator_id}"


class Evidence(models.Model):
    """佐证材料: a file an agency uploads for an indicator, or with a rectification response."""

    score = models.ForeignKey(
        Score, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    rectification = models.ForeignKey(
        "supervision.Rectification",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="evidence",
    )
    object = models.ForeignKey(
        "storage.StoredObject", on_delete=models.PROTECT, related_name="supervision_evidence"
    )
    filename = models.CharField(_("文件名"), max_length=255)
    mime = models.CharField(_("媒体类型"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("佐证材料")
        verbose_name_plural = _("佐证材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.filename


# --- inspections 执法检查 ----------------------------------------------------------------------


class InspectionKind(models.TextChoices):
    PLANNED = "planned", _("计划检查")
    AD_HOC = "ad_hoc", _("专项/临时检查")


class InspectionStatus(models.TextChoices):
    PLANNED = "planned", _("待检查")
    DONE = "done", _("已检查")
    CLOSED = "closed", _("已办结")


class Inspection(models.Model):
    """档案行政执法检查: a planned (annual plan) or ad-hoc inspection of one unit."""

    number = models.CharField(_("检查编号"), max_length=40, unique=True)
    kind = models.CharField(
        _("检查类型"), max_length=10, choices=InspectionKind.choices, default=InspectionKind.PLANNED
    )
    plan_year = models.PositiveSmallIntegerField(_("计划年度"), db_index=True)
    unit = models.ForeignKey(
        "holdings.Unit",
        verbose_name=_("被检查单位"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    subject = models.CharField(_("检查事项"), max_length=200)
    planned_date = models.DateField(_("计划日期"), null=True, blank=True)
    inspected_on = models.DateField(_("检查日期"), null=True, blank=True)
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("检查人员"), blank=True, related_name="+"
    )
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=InspectionStatus.choices,
        default=InspectionStatus.PLANNED,
        db_index=True,
    )
    summary = models.TextField(_("检查结论"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("执法检查")
        verbose_name_plural = _("执法检查")
        ordering = ["-plan_year", "-planned_date", "-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.unit.name}"


class Finding(models.Model):
    """检查发现的问题."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="findings")
    description = models.TextField(_("问题描述"))
    basis = models.CharField(_("依据"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查发现")
        verbose_name_plural = _("检查发现")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description[:60]


class RectificationStatus(models.TextChoices):
    ISSUED = "issued", _("待整改")
    RESPONDED = "responded", _("已反馈")
    CLOSED = "closed", _("已验收")


class Rectification(models.Model):
    """整改通知: what the unit must put right by a deadline; its response; verification."""

    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, related_name="rectifications"
    )
    finding = models.ForeignKey(
        Finding,
        verbose_name=_("对应问题"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rectifications",
    )
    number = models.CharField(_("通知编号"), max_length=40, unique=True)
    requirement = models.TextField(_("整改要求"))
    deadline = models.DateField(_("整改期限"), db_index=True)
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=RectificationStatus.choices,
        default=RectificationStatus.ISSUED,
        db_index=True,
    )
    issued_at = models.DateTimeField(_("下达时间"), default=timezone.now)
    response = models.TextField(_("整改情况"), blank=True)
    responded_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verification_note = models.TextField(_("验收意见"), blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("验收人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("验收时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("整改通知")
        verbose_name_plural = _("整改通知")
        ordering = ["deadline", "id"]

    def __str__(self) -> str:
        return self.number

    def is_overdue(self, today=None) -> bool:
        """Still waiting for the unit's response after the deadline (a response under review
        is not overdue: the unit has acted)."""
        today = today or timezone.localdate()
        return self.status == RectificationStatus.ISSUED and self.deadline < today


# --- people 人才与培训 --------------------------------------------------------------------------


class Professional(models.Model):
    """档案专业人员: the register of the district's archival professionals."""

    name = models.CharField(_("姓名"), max_length=50)
    unit = models.ForeignKey(
        "holdings.Unit",
        verbose_name=_("所在单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="professionals",
    )
    position = models.CharField(_("岗位"), max_length=100, blank=True)
    title = models.CharField(_("职称"), max_length=100, blank=True)
    qualifications = models.TextField(_("学历与资格"), blank=True)
    specialties = models.CharField(_("专长"), max_length=300, blank=True)
    certificates = models.TextField(_("证书"), blank=True)
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    active = models.BooleanField(_("在岗"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("档案专业人员")
        verbose_name_plural = _("档案专业人员")
        ordering = ["unit__code", "name"]

    def __str__(self) -> str:
        return self.name


class TrainingSession(models.Model):
    """培训: one course session for the district's records staff."""

    course = models.CharField(_("课程"), max_length=200)
    date = models.DateField(_("培训日期"), db_index=True)
    hours = models.DecimalField(_("学时"), max_digits=5, decimal_places=1)
    trainer = models.CharField(_("授课人"), max_length=100, blank=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    description = models.TextField(_("内容简介"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("培训")
        verbose_name_plural = _("培训")
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} {self.course}"


class Attendance(models.Model):
    """参训人员: a person from a unit at a session (not necessarily a user), with a
    certificate number if one was issued."""

    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="attendances"
    )
    name = models.CharField(_("姓名"), max_length=50)
    unit = models.ForeignKey(
        "holdings.Unit",
        verbose_name=_("所在单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit_name = models.CharField(_("单位名称"), max_length=200, blank=True)
    professional = models.ForeignKey(
        Professional,
        verbose_name=_("专业人员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attendances",
    )
    certificate_no = models.CharField(_("证书编号"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("参训记录")
        verbose_name_plural = _("参训记录")
        ordering = ["session", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "name", "unit_name"], name="attendance_unique_person"
            )
        ]

    def __str__(self) -> str:
        return self.name
