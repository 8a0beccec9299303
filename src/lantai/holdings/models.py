"""Holdings 馆藏: units, fonds, categories, series, volumes and items.

Holdings are counted in 卷(件): a volume counts once, an item that stands alone counts once;
items inside a volume are not counted again.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    AGENCY = "agency", _("机关")
    SCHOOL = "school", _("学校")
    HOSPITAL = "hospital", _("医院")
    ENTERPRISE = "enterprise", _("企业")
    OTHER = "other", _("其他")


class Retention(models.TextChoices):
    """保管期限. Y/D30/D10 (DA/T 22-2015) and the legacy 永久/长期/短期 of older holdings."""

    PERMANENT = "Y", _("永久")
    D30 = "D30", _("定期30年")
    D10 = "D10", _("定期10年")
    LONG = "C", _("长期")
    SHORT = "D", _("短期")


class Classification(models.TextChoices):
    """密级. Classified material normally stays out of a networked system."""

    PUBLIC = "public", _("公开")
    INTERNAL = "internal", _("内部")
    SECRET = "secret", _("秘密")
    CONFIDENTIAL = "confidential", _("机密")
    TOP_SECRET = "top_secret", _("绝密")


class Openness(models.TextChoices):
    """开放状态, decided by an opening review (开放鉴定)."""

    UNREVIEWED = "unreviewed", _("未鉴定")
    OPEN = "open", _("开放")
    RESTRICTED = "restricted", _("控制使用")


class Carrier(models.TextChoices):
    """载体."""

    PAPER = "paper", _("纸质")
    ELECTRONIC = "electronic", _("电子")
    HYBRID = "hybrid", _("纸质+电子")
    OBJECT = "object", _("实物")
    AUDIOVISUAL = "audiovisual", _("声像")


class Arrangement(models.TextChoices):
    """整理方式: by item (以件为单位) or by volume (以卷为单位)."""

    ITEM = "item", _("按件")
    VOLUME = "volume", _("按卷")


class Unit(models.Model):
    """立档单位 / 移交单位: an agency, school, hospital or enterprise that creates records."""

    code = models.CharField(_("单位代码"), max_length=32, unique=True)
    name = models.CharField(_("单位名称"), max_length=200)
    kind = models.CharField(_("单位类型"), max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    contact = models.CharField(_("联系人"), max_length=100, blank=True)
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    active = models.BooleanField(_("在用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Fonds(models.Model):
    """全宗: all records of one creating body. The code (e.g. Z109) is kept for ever."""

    code = models.CharField(_("全宗号"), max_length=8, unique=True)
    name = models.CharField(_("全宗名称"), max_length=200)
    unit = models.ForeignKey(
        Unit, verbose_name=_("立档单位"), on_delete=models.PROTECT, related_name="fonds"
    )
    start_year = models.PositiveSmallIntegerField(_("起始年度"), null=True, blank=True)
    end_year = models.PositiveSmallIntegerField(_("终止年度"), null=True, blank=True)
    description = models.TextField(_("全宗介绍"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("全宗")
        verbose_name_plural = _("全宗")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class FondsName(models.Model):
    """全宗名称沿革: the names a fonds' creating body has had, with the years of each."""

    fonds = models.ForeignKey(Fonds, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(_("名称"), max_length=200)
    start_year = models.PositiveSmallIntegerField(_("起始年度"), null=True, blank=True)
    end_year = models.PositiveSmallIntegerField(_("终止年度"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("全宗名称沿革")
        verbose_name_plural = _("全宗名称沿革")
        ordering = ["fonds", "start_year"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """档案门类 (DA/T 13-2022 codes: WS, KJ, …) and the 专门档案 kinds under a parent."""

    code = models.CharField(_("门类代码"), max_length=8, unique=True)
    name = models.CharField(_("门类名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级门类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    arrangement = models.CharField(
        _("整理方式"), max_length=8, choices=Arrangement.choices, default=Arrangement.ITEM
    )
    livelihood = models.BooleanField(_("民生档案"), default=False)
    # Years after formation before an item is due for opening review (档案法: 25).
    opening_years = models.PositiveSmallIntegerField(_("开放期限（年）"), default=25)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("档案门类")
        verbose_name_plural = _("档案门类")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Series(models.Model):
    """机构(问题): an organisational or subject series within a fonds (e.g. BGS 办公室)."""

    fonds = models.ForeignKey(Fonds, on_delete=models.PROTECT, related_name="series")
    code = models.CharField(_("机构(问题)代码"), max_length=20)
    name = models.CharField(_("机构(问题)名称"), max_length=100)

    class Meta:
        verbose_name = _("机构(问题)")
        verbose_name_plural = _("机构(问题)")
        ordering = ["fonds", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fonds", "code"], name="series_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ReferenceScheme(models.Model):
    """档号规则: the 档号 templates for a fonds and/or category.

    The most specific scheme wins: fonds+category, then fonds, then category, then the
    default (both empty). Placeholders: {fonds} {category} {year} {retention} {series}
    {catalog} {volume} {item}. DA/T 22-2015 style: ``{fonds}-{category}·{year}-{retention}-
    {series}-{item}``; DA/T 13-2022 style: ``{fonds}-{category}·{year}·{retention}·{series}-
    {item}``.
    """

    fonds = models.ForeignKey(
        Fonds, null=True, blank=True, on_delete=models.CASCADE, related_name="reference_schemes"
    )
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reference_schemes",
    )
    item_template = models.CharField(
        _("件档号模板"),
        max_length=200,
        default="{fonds}-{category}·{year}-{retention}-{series}-{item}",
    )
    volume_template = models.CharField(
        _("卷档号模板"), max_length=200, default="{fonds}-{category}·{year}-{retention}-{volume}"
    )
    volume_item_template = models.CharField(
        _("卷内件档号模板"),
        max_length=200,
        default="{fonds}-{category}·{year}-{retention}-{volume}-{item}",
    )
    item_width = models.PositiveSmallIntegerField(_("件号位数"), default=4)
    volume_width = models.PositiveSmallIntegerField(_("案卷号位数"), default=3)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("档号规则")
        verbose_name_plural = _("档号规则")
        constraints = [
            # NULL means "any"; one scheme per scope. Coalesce because SQLite treats NULLs as
            # distinct in a plain unique constraint.
            models.UniqueConstraint(
                Coalesce("fonds", Value(0)),
                Coalesce("category", Value(0)),
                name="refscheme_unique_scope",
            ),
        ]

    def __str__(self) -> str:
        return self.item_template


class NumberSequence(models.Model):
    """The last 件号 / 案卷号 handed out within one numbering scope (a row locked to allocate)."""

    scope = models.CharField(max_length=255, unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("编号序列")

    def __str__(self) -> str:
        return f"{self.scope}: {self.last}"


class Described(models.Model):
    """Description shared by volumes and items (DA/T 46 core elements)."""

    fonds = models.ForeignKey(Fonds, verbose_name=_("全宗"), on_delete=models.PROTECT)
    category = models.ForeignKey(Category, verbose_name=_("门类"), on_delete=models.PROTECT)
    series = models.ForeignKey(
        Series, verbose_name=_("机构(问题)"), null=True, blank=True, on_delete=models.PROTECT
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("移交单位"), null=True, blank=True, on_delete=models.PROTECT
    )
    catalog_no = models.CharField(_("目录号"), max_length=20, blank=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    retention = models.CharField(_("保管期限"), max_length=4, choices=Retention.choices)
    # Unique once assigned; NULL until then (unique ignores NULLs). Never changes afterwards:
    # services refuse it and a database trigger refuses it too.
    reference_code = models.CharField(_("档号"), max_length=100, null=True, blank=True, unique=True)
    title = models.CharField(_("题名"), max_length=500)
    responsible = models.CharField(_("责任者"), max_length=200, blank=True)
    date_start = models.DateField(_("起始日期"), null=True, blank=True)
    date_end = models.DateField(_("终止日期"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("页数"), null=True, blank=True)
    classification = models.CharField(
        _("密级"), max_length=16, choices=Classification.choices, default=Classification.PUBLIC
    )
    openness = models.CharField(
        _("开放状态"), max_length=16, choices=Openness.choices, default=Openness.UNREVIEWED
    )
    carrier = models.CharField(
        _("载体"), max_length=16, choices=Carrier.choices, default=Carrier.PAPER
    )
    keywords = models.CharField(_("主题词"), max_length=200, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        abstract = True


class Volume(Described):
    """案卷: a file of items arranged together (older holdings are arranged by volume)."""

    volume_no = models.PositiveIntegerField(_("案卷号"))

    class Meta:
        verbose_name = _("案卷")
        verbose_name_plural = _("案卷")
        ordering = ["fonds", "category", "year", "volume_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["fonds", "category", "year", "retention", "catalog_no", "volume_no"],
                name="volume_unique_number",
            ),
        ]
        indexes = [
            models.Index(fields=["fonds", "category", "year"], name="vol_browse"),
            models.Index(fields=["openness"], name="vol_openness"),
        ]

    def __str__(self) -> str:
        return f"{self.reference_code or '—'} {self.title}"


class Item(Described):
    """件: the unit of arrangement today. It stands alone or belongs to a volume (卷内文件)."""

    volume = models.ForeignKey(
        Volume,
        verbose_name=_("所属案卷"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="items",
    )
    item_no = models.PositiveIntegerField(_("件号"))
    doc_number = models.CharField(_("文号"), max_length=100, blank=True)
    date = models.DateField(_("形成日期"), null=True, blank=True)
    # Category-specific description, e.g. a marriage record's parties (婚姻登记: 男方/女方),
    # a school record's student, an oral-history interviewee. Keys are documented per category.
    extra = models.JSONField(_("专门字段"), default=dict, blank=True)

    class Meta:
        verbose_name = _("件")
        verbose_name_plural = _("件")
        permissions = [
            ("view_holdings", _("查看馆藏")),
            ("change_holdings", _("著录与修改馆藏")),
            ("view_restricted", _("查看控制使用档案")),
            ("manage_codes", _("管理单位、全宗、门类与档号规则")),
        ]
        ordering = ["fonds", "category", "year", "item_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["fonds", "category", "year", "retention", "series", "item_no"],
                condition=Q(volume__isnull=True, series__isnull=False),
                name="item_unique_number",
            ),
            models.UniqueConstraint(
                fields=["fonds", "category", "year", "retention", "item_no"],
                condition=Q(volume__isnull=True, series__isnull=True),
                name="item_unique_number_noseries",
            ),
            models.UniqueConstraint(
                fields=["volume", "item_no"],
                condition=Q(volume__isnull=False),
                name="item_unique_in_volume",
            ),
        ]
        indexes = [
            # Browse fonds → category → year, listed in 件号 order.
            models.Index(fields=["fonds", "category", "year", "item_no"], name="item_browse"),
            models.Index(fields=["fonds", "year"], name="item_fonds_year"),
            models.Index(fields=["category", "year"], name="item_category_year"),
            models.Index(fields=["date"], name="item_date"),
            models.Index(fields=["fonds", "date"], name="item_fonds_date"),
            models.Index(fields=["openness", "fonds"], name="item_openness"),
            models.Index(fields=["unit"], name="item_unit"),
            models.Index(fields=["updated_at"], name="item_updated"),
            # Keyset pages sorted by title or year over all holdings.
            models.Index(fields=["title", "id"], name="item_title"),
            models.Index(fields=["year", "id"], name="item_year"),
        ]

    def __str__(self) -> str:
        return f"{self.reference_code or '—'} {self.title}"

    @property
    def standalone(self) -> bool:
        return self.volume_id is None
