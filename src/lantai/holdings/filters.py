"""Filters for the item and volume lists 条目筛选, shared by the web UI and the JSON API.

Every filter maps onto a column the Item indexes cover (fonds, category, year, openness, unit,
date, 档号), so a filtered page stays an index walk at a million items. Choices offered for
全宗 and 机构(问题) come from what the user may see (``services.visible_fonds``).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.holdings import services
from lantai.holdings.models import (
    Carrier,
    Category,
    Classification,
    Fonds,
    Item,
    Openness,
    Retention,
    Series,
    Unit,
    Volume,
)
from lantai.holdings.tables import code_prefix_filter


class _DescribedFilter(django_filters.FilterSet):
    """Filters common to volumes and items (both are ``Described``)."""

    fonds = django_filters.ModelChoiceFilter(
        queryset=Fonds.objects.none(), label=_("全宗"), empty_label=_("全部全宗")
    )
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), label=_("门类"), empty_label=_("全部门类")
    )
    year = django_filters.NumberFilter(
        label=_("年度"), widget=forms.NumberInput(attrs={"min": 1000, "max": 9999, "size": 6})
    )
    retention = django_filters.ChoiceFilter(
        choices=Retention.choices, label=_("保管期限"), empty_label=_("全部")
    )
    openness = django_filters.ChoiceFilter(
        choices=Openness.choices, label=_("开放状态"), empty_label=_("全部")
    )
    classification = django_filters.ChoiceFilter(
        choices=Classification.choices, label=_("密级"), empty_label=_("全部")
    )
    carrier = django_filters.ChoiceFilter(
        choices=Carrier.choices, label=_("载体"), empty_label=_("全部")
    )
    unit = django_filters.ModelChoiceFilter(
        queryset=Unit.objects.none(), label=_("移交单位"), empty_label=_("全部单位")
    )
    series = django_filters.ModelChoiceFilter(
        queryset=Series.objects.none(), label=_("机构(问题)"), empty_label=_("全部")
    )
    code = django_filters.CharFilter(
        method="filter_code",
        label=_("档号前缀"),
        max_length=100,
        widget=forms.TextInput(attrs={"size": 16, "placeholder": "Z109-WS·2011"}),
    )
    title = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", label=_("题名包含"), max_length=200
    )

    def __init__(self, data=None, queryset=None, *, user=None, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        fonds = services.visible_fonds(user)
        self.filters["fonds"].queryset = fonds
        form_fields = self.form.fields
        form_fields["fonds"].queryset = fonds
        form_fields["unit"].queryset = Unit.objects.filter(fonds__in=fonds).distinct()
        series = Series.objects.filter(fonds__in=fonds).select_related("fonds")
        chosen = self.data.get("fonds") if self.data else None
        if chosen and str(chosen).isdigit():
            # Offer only the chosen fonds' series: a district archive has hundreds.
            series = series.filter(fonds_id=int(chosen))
        form_fields["series"].queryset = series
        form_fields["category"].queryset = Category.objects.all()

    def code_prefix_hint(self) -> str | None:
        """The 全宗号 every listed 档号 begins with, when the list covers a single fonds (chosen
        in the filter, or the only fonds a unit officer may see); None otherwise."""
        fonds = self.form.cleaned_data.get("fonds") if self.is_valid() else None
        if fonds is not None:
            return fonds.code
        only = list(self.filters["fonds"].queryset.values_list("code", flat=True)[:2])
        return only[0] if len(only) == 1 else None

    def filter_code(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        return code_prefix_filter(queryset, value)


class ItemFilter(_DescribedFilter):
    """条目筛选: fonds, category, year, retention, openness, classification, carrier, unit,
    series, 档号 prefix, title contains, 形成日期 range."""

    date_from = django_filters.DateFilter(
        field_name="date",
        lookup_expr="gte",
        label=_("形成日期自"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        field_name="date",
        lookup_expr="lte",
        label=_("形成日期至"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Item
        fields = ()

    def clean_range(self) -> None:
        data = self.form.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.form.add_error("date_to", _("终止日期不能早于起始日期。"))

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:
            self.clean_range()
            valid = not self.form.errors
        return valid


class VolumeFilter(_DescribedFilter):
    """案卷筛选."""

    class Meta:
        model = Volume
        fields = ()


#: Names of the query parameters the item list understands besides the filters.
LIST_PARAMS = ("sort", "after", "before")
