"""Forms for the code tables 代码表: units, fonds and their 名称沿革, series, categories and
档号 rules.

The forms only read the request; the rules are the services' (``create_unit``,
``save_scheme`` …). Fields are not required at form level and carry no length limits, so the
messages a user sees are the same clear Chinese messages the API and importers get. Usage::

    form = UnitForm(request.POST or None, instance=unit, actor=request.user)
    if request.method == "POST":
        unit = form.save()  # None when refused; the errors are then on the form fields
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from lantai.holdings import services
from lantai.holdings.models import (
    Arrangement,
    Category,
    Fonds,
    ReferenceScheme,
    Unit,
    UnitKind,
)

_NUMBER = forms.TextInput(attrs={"inputmode": "numeric", "size": 6})
_YEAR = forms.TextInput(attrs={"inputmode": "numeric", "size": 6, "placeholder": "YYYY"})


def _text(label, **kwargs) -> forms.CharField:
    # strip=False: the service trims and reports, so form and API agree on every value.
    return forms.CharField(label=label, required=False, strip=False, **kwargs)


class ServiceForm(forms.Form):
    """A form whose validation and saving are a service call. ``readonly`` fields are shown
    but never sent to the service (codes that are fixed once created)."""

    readonly: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args, actor=None, instance=None, **kwargs) -> None:
        self.actor = actor
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        if instance is not None:
            for name in self.readonly:
                if name in self.fields:
                    self.fields[name].disabled = True

    def initial_from(self, instance) -> dict[str, Any]:
        return {name: getattr(instance, name, None) for name in self.base_fields}

    def service_data(self) -> dict[str, Any]:
        skip = set(self.readonly) if self.instance is not None else set()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in self.fields and name not in skip
        }

    def show_errors(self, error: ValidationError) -> None:
        """Put a service's messages on the fields they name; the rest above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages in error.message_dict.items():
            target = self.error_field(field)
            for message in messages:
                self.add_error(target, message)

    def error_field(self, field: str) -> str | None:
        if field == NON_FIELD_ERRORS or field not in self.fields:
            return None
        return field

    def call_service(self, data: dict[str, Any]):
        raise NotImplementedError

    def save(self):
        """Validate through the service and save. Returns the saved object, or None when
        refused (nothing was saved; the errors are on the form)."""
        if not self.is_valid():
            return None
        try:
            self.instance = self.call_service(self.service_data())
        except ValidationError as error:
            self.show_errors(error)
            return None
        return self.instance


# --- units ------------------------------------------------------------------------------------


class UnitForm(ServiceForm):
    code = _text(_("单位代码"), help_text=_("字母、数字、点、横线或下划线，如 BGS-001"))
    name = _text(_("单位名称"))
    kind = forms.ChoiceField(label=_("单位类型"), choices=UnitKind.choices, required=False)
    parent = forms.ModelChoiceField(
        label=_("上级单位"), queryset=Unit.objects.none(), required=False, empty_label=_("（无）")
    )
    contact = _text(_("联系人"))
    phone = _text(_("联系电话"))
    address = _text(_("地址"))
    active = forms.BooleanField(label=_("在用"), required=False, initial=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        parents = Unit.objects.order_by("code")
        if self.instance is not None:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents

    def call_service(self, data):
        if self.instance is None:
            return services.create_unit(self.actor, data)
        return services.update_unit(self.actor, self.instance, data)


class UnitFilterForm(forms.Form):
    q = forms.CharField(label=_("代码或名称"), required=False)
    kind = forms.ChoiceField(
        label=_("单位类型"), choices=[("", _("全部")), *UnitKind.choices], required=False
    )
    active = forms.ChoiceField(
        label=_("状态"),
        choices=[("", _("全部")), ("1", _("在用")), ("0", _("停用"))],
        required=False,
    )


# --- fonds and their name history ------------------------------------------------------------


class FondsForm(ServiceForm):
    readonly = ("code",)

    code = _text(_("全宗号"), help_text=_("一经确定不能修改，如 Z109"))
    name = _text(_("全宗名称"))
    unit = forms.ModelChoiceField(
        label=_("立档单位"),
        queryset=Unit.objects.order_by("code"),
        required=False,
        empty_label=_("（请选择）"),
    )
    start_year = _text(_("起始年度"), widget=_YEAR)
    end_year = _text(_("终止年度"), widget=_YEAR)
    description = _text(_("全宗介绍"), widget=forms.Textarea(attrs={"rows": 4}))

    def call_service(self, data):
        if self.instance is None:
            return services.create_fonds(self.actor, data)
        return services.update_fonds(self.actor, self.instance, data)


class FondsNameForm(ServiceForm):
    name = _text(_("名称"))
    start_year = _text(_("起始年度"), widget=_YEAR)
    end_year = _text(_("终止年度"), widget=_YEAR)
    note = _text(_("说明"))

    def __init__(self, *args, fonds: Fonds | None = None, **kwargs) -> None:
        # Shown on the fonds page next to the fonds form: ids of their own.
        kwargs.setdefault("auto_id", "fonds-name-%s")
        super().__init__(*args, **kwargs)
        self.fonds = fonds

    def call_service(self, data):
        if self.instance is None:
            return services.save_fonds_name(self.actor, {**data, "fonds": self.fonds})
        return services.save_fonds_name(self.actor, data, self.instance)


# --- series -----------------------------------------------------------------------------------


class SeriesForm(ServiceForm):
    code = _text(_("机构(问题)代码"), help_text=_("字母、数字或汉字，如 BGS 或 办公室"))
    name = _text(_("机构(问题)名称"))

    def __init__(self, *args, fonds: Fonds | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fonds = fonds

    def call_service(self, data):
        if self.instance is None:
            return services.create_series(self.actor, {**data, "fonds": self.fonds})
        return services.update_series(self.actor, self.instance, data)


# --- categories -------------------------------------------------------------------------------


def _descendants(category: Category) -> set[int]:
    """Ids of the category and everything under it (one query: categories are few)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = set(), [category.pk]
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, []))
    return found


class CategoryForm(ServiceForm):
    readonly = ("code",)

    code = _text(_("门类代码"), help_text=_("2至3位大写字母，一经确定不能修改，如 WS"))
    name = _text(_("门类名称"))
    parent = forms.ModelChoiceField(
        label=_("上级门类"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("（无，顶级门类）"),
        help_text=_("专门档案归入其上级门类，如婚姻登记档案归入 ZY 专业档案"),
        error_messages={"invalid_choice": _("上级门类不能是本门类或其下级门类")},
    )
    arrangement = forms.ChoiceField(
        label=_("整理方式"), choices=Arrangement.choices, required=False
    )
    livelihood = forms.BooleanField(
        label=_("民生档案"), required=False, help_text=_("可用于跨馆出证的民生档案")
    )
    opening_years = _text(
        _("开放期限（年）"), widget=_NUMBER, help_text=_("自形成之日起满多少年进行开放鉴定")
    )
    sort_order = _text(_("排序"), widget=_NUMBER)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        parents = Category.objects.order_by("sort_order", "code")
        if self.instance is not None:
            # A category under itself or its own descendant would make a loop.
            parents = parents.exclude(pk__in=_descendants(self.instance))
        self.fields["parent"].queryset = parents
        if self.instance is None and not self.is_bound:
            self.initial.setdefault("arrangement", Arrangement.ITEM)
            self.initial.setdefault("opening_years", 25)
            self.initial.setdefault("sort_order", 100)

    def call_service(self, data):
        return services.save_category(self.actor, data, self.instance)


# --- 档号 rules -------------------------------------------------------------------------------

SCOPE_DEFAULT, SCOPE_FONDS, SCOPE_CATEGORY, SCOPE_BOTH = "default", "fonds", "category", "both"
SCOPE_CHOICES = [
    (SCOPE_DEFAULT, _("默认（所有全宗、所有门类）")),
    (SCOPE_FONDS, _("指定全宗")),
    (SCOPE_CATEGORY, _("指定门类")),
    (SCOPE_BOTH, _("指定全宗和门类")),
]


def scope_of(scheme: ReferenceScheme) -> str:
    if scheme.fonds_id and scheme.category_id:
        return SCOPE_BOTH
    if scheme.fonds_id:
        return SCOPE_FONDS
    if scheme.category_id:
        return SCOPE_CATEGORY
    return SCOPE_DEFAULT


def scope_label(scheme: ReferenceScheme) -> str:
    return str(dict(SCOPE_CHOICES)[scope_of(scheme)])


TEMPLATE_HELP = _(
    "占位符：{fonds} 全宗号、{category} 门类代码、{year} 年度、{retention} 保管期限、"
    "{series} 机构(问题)、{catalog} 目录号、{volume} 案卷号、{item} 件号；"
    "“-”连接不同层级，“·”连接同一层级内的代码"
)


class SchemeForm(ServiceForm):
    """A 档号规则. Its scope (default / fonds / category / both) is chosen when it is created
    and fixed afterwards: to move a rule, add one for the new scope and remove the old."""

    readonly = ("scope", "fonds", "category")

    scope = forms.ChoiceField(label=_("适用范围"), choices=SCOPE_CHOICES, required=False)
    fonds = forms.ModelChoiceField(
        label=_("全宗"),
        queryset=Fonds.objects.order_by("code"),
        required=False,
        empty_label=_("（请选择）"),
    )
    category = forms.ModelChoiceField(
        label=_("门类"),
        queryset=Category.objects.order_by("sort_order", "code"),
        required=False,
        empty_label=_("（请选择）"),
    )
    item_template = _text(
        _("件档号模板"), widget=forms.TextInput(attrs={"size": 60}), help_text=TEMPLATE_HELP
    )
    volume_template = _text(_("卷档号模板"), widget=forms.TextInput(attrs={"size": 60}))
    volume_item_template = _text(_("卷内件档号模板"), widget=forms.TextInput(attrs={"size": 60}))
    item_width = _text(_("件号位数"), widget=_NUMBER)
    volume_width = _text(_("案卷号位数"), widget=_NUMBER)
    note = _text(_("说明"), widget=forms.TextInput(attrs={"size": 60}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is None and not self.is_bound:
            # A new rule starts from the DA/T 22-2015 defaults of the model.
            defaults = ReferenceScheme()
            for name in (
                "item_template",
                "volume_template",
                "volume_item_template",
                "item_width",
                "volume_width",
            ):
                self.initial.setdefault(name, getattr(defaults, name))
            self.initial.setdefault("scope", SCOPE_BOTH)

    def initial_from(self, instance) -> dict[str, Any]:
        initial = super().initial_from(instance)
        initial["scope"] = scope_of(instance)
        return initial

    def clean(self):
        cleaned = super().clean()
        if self.instance is not None:
            return cleaned
        scope = cleaned.get("scope") or SCOPE_BOTH
        cleaned["scope"] = scope
        needs_fonds = scope in (SCOPE_FONDS, SCOPE_BOTH) and not cleaned.get("fonds")
        if needs_fonds and "fonds" not in self.errors:
            self.add_error("fonds", _("请选择此规则适用的全宗"))
        needs_category = scope in (SCOPE_CATEGORY, SCOPE_BOTH) and not cleaned.get("category")
        if needs_category and "category" not in self.errors:
            self.add_error("category", _("请选择此规则适用的门类"))
        return cleaned

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        scope = data.pop("scope", None)
        if self.instance is None:
            if scope not in (SCOPE_FONDS, SCOPE_BOTH):
                data["fonds"] = None
            if scope not in (SCOPE_CATEGORY, SCOPE_BOTH):
                data["category"] = None
        return data

    def error_field(self, field: str) -> str | None:
        # The service reports a taken scope on "fonds"; show it where the scope is chosen.
        if field == "fonds" and (self.instance is not None or not self.cleaned_data.get("fonds")):
            return "scope"
        return super().error_field(field)

    def call_service(self, data):
        return services.save_scheme(self.actor, data, self.instance)
