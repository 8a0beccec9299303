"""Filter form for the auditor's list; it turns query parameters into an EntryFilter."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.audit.models import AuditAction
from lantai.audit.services import Anchor, EntryFilter, parse_anchor


class EntryFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    actor = forms.CharField(label=_("用户名"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("操作"), required=False)
    object_type = forms.CharField(label=_("对象类型"), required=False, max_length=64)
    object_id = forms.CharField(label=_("对象ID"), required=False, max_length=64)
    text = forms.CharField(label=_("对象名称包含"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("全部")), *AuditAction.choices]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("截止日期不能早于起始日期。"))
        return data

    def to_filter(self) -> EntryFilter:
        """The filter from valid fields; an invalid field filters nothing (and shows its error)."""
        data = getattr(self, "cleaned_data", {}) if self.is_bound else {}
        return EntryFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            actor=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            object_type=(data.get("object_type") or "").strip(),
            object_id=(data.get("object_id") or "").strip(),
            text=(data.get("text") or "").strip(),
        )


class VerifyForm(forms.Form):
    """Anchors 锚点 kept from earlier checks, one ``SEQ:HASH`` per line (optional)."""

    anchors = forms.CharField(
        label=_("此前记录的锚点"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "1200:9f86d081884c7d65…"}),
        help_text=_("每行一个“序号:摘要”。该条目必须仍在且摘要不变。"),
    )

    def clean_anchors(self) -> list[Anchor]:
        anchors, errors = [], []
        for line in (self.cleaned_data.get("anchors") or "").splitlines():
            if not line.strip():
                continue
            try:
                anchors.append(parse_anchor(line))
            except ValueError as exc:
                errors.append(str(exc))
        if errors:
            raise forms.ValidationError(errors)
        return anchors
