# ruff: noqa: RUF012  (Django Meta fields/widgets are class-level by design)
"""Forms of the outreach screens. They shape input only; every rule and every write is in
``outreach.services`` (views pass ``cleaned_data`` on and show its ValidationErrors)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from lantai.outreach import models as m
from lantai.outreach.services import OFFER_MAX_PHOTOS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: field messages beside their fields."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def initial_of(obj, fields) -> dict:
    return model_to_dict(obj, fields=list(fields)) if obj is not None else {}


class SlotForm(forms.ModelForm):
    class Meta:
        model = m.VisitSlot
        fields = ["date", "start", "capacity", "closed", "note"]
        widgets = {"date": DATE, "start": TIME}


WEEKDAYS = [
    (0, _("周一")),
    (1, _("周二")),
    (2, _("周三")),
    (3, _("周四")),
    (4, _("周五")),
    (5, _("周六")),
    (6, _("周日")),
]


class GenerateForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), widget=DATE)
    end = forms.DateField(label=_("结束日期"), widget=DATE)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("开放日"),
        choices=WEEKDAYS,
        coerce=int,
        initial=[1, 2, 3, 4, 5],
        widget=forms.CheckboxSelectMultiple,
    )
    times = forms.CharField(label=_("开始时间"), initial="9:30, 14:00", help_text=_("逗号分隔"))
    capacity = forms.IntegerField(label=_("每场容量（人）"), initial=60, min_value=1)


class ClosedDayForm(forms.Form):
    date = forms.DateField(label=_("闭馆日期"), widget=DATE)
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class BookingForm(forms.Form):
    """The public booking form 网上预约 (ids are stable for browser tests)."""

    slot = forms.ModelChoiceField(label=_("参观时段"), queryset=m.VisitSlot.objects.none())
    organisation = forms.CharField(label=_("单位/团体名称"), max_length=200)
    contact = forms.CharField(label=_("联系人"), max_length=100)
    phone = forms.CharField(label=_("联系电话"), max_length=40)
    email = forms.EmailField(label=_("电子邮箱"), required=False)
    people = forms.IntegerField(label=_("参观人数"), min_value=1)
    purpose = forms.CharField(label=_("参观目的"), widget=forms.Textarea(attrs={"rows": 3}),
                              required=False)  # fmt: skip

    def __init__(self, *args, slots=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["slot"]
        field.queryset = slots if slots is not None else m.VisitSlot.objects.none()
        field.label_from_instance = lambda s: (
            _("%(d)s %(t)s（余 %(n)d 人）")
            % {
                "d": s.date.strftime("%Y-%m-%d"),
                "t": s.start.strftime("%H:%M"),
                "n": s.remaining,
            }
        )


class StatusForm(forms.Form):
    reference = forms.CharField(label=_("预约编号"), max_length=30)
    phone = forms.CharField(label=_("联系电话"), max_length=40)


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("婉拒原因"), max_length=300)


class RescheduleForm(forms.Form):
    slot = forms.ModelChoiceField(label=_("新时段"), queryset=m.VisitSlot.objects.none())

    def __init__(self, *args, slots=None, **kwargs):
        super().__init__(*args, **kwargs)
        if slots is not None:
            self.fields["slot"].queryset = slots


class CheckInForm(forms.Form):
    actual_people = forms.IntegerField(label=_("实到人数"), min_value=1)


class ExhibitionForm(forms.ModelForm):
    class Meta:
        model = m.Exhibition
        fields = ["title", "summary", "intro", "column", "venue", "start_date", "end_date"]
        widgets = {"start_date": DATE, "end_date": DATE}


class SectionForm(forms.ModelForm):
    class Meta:
        model = m.ExhibitionSection
        fields = ["title", "text", "sort_order"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}


class ExhibitForm(forms.Form):
    item = forms.CharField(label=_("档号或条目编号"), max_length=100)
    caption = forms.CharField(label=_("说明文字"), widget=forms.Textarea(attrs={"rows": 2}),
                              required=False)  # fmt: skip
    sort_order = forms.IntegerField(label=_("排序"), initial=100, min_value=0, max_value=32767)


class ColumnForm(forms.ModelForm):
    class Meta:
        model = m.Column
        fields = ["title", "intro", "sort_order"]


class ArticleForm(forms.ModelForm):
    class Meta:
        model = m.Article
        fields = ["column", "title", "body"]


class CallForm(forms.ModelForm):
    class Meta:
        model = m.MaterialCall
        fields = ["title", "text", "exhibition", "campaign", "deadline"]
        widgets = {"deadline": DATE}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class OfferForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=100)
    contact = forms.CharField(label=_("联系方式"), max_length=200, help_text=_("电话或电子邮箱"))
    description = forms.CharField(label=_("材料描述"), widget=forms.Textarea(attrs={"rows": 5}))
    photos = MultipleFileField(
        label=_("照片"),
        required=False,
        help_text=_("最多 %(n)d 张 JPEG 或 PNG，每张不超过 5 MB") % {"n": OFFER_MAX_PHOTOS},
    )


class TriageForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("处理结果"),
        choices=[(m.OfferStatus.ACCEPTED, _("拟征集")), (m.OfferStatus.DECLINED, _("不予征集"))],
    )
    note = forms.CharField(label=_("处理意见"), widget=forms.Textarea(attrs={"rows": 2}),
                           required=False)  # fmt: skip
    acquisition = forms.BooleanField(label=_("同时新建征集记录"), required=False)


class ProjectForm(forms.ModelForm):
    team = forms.ModelMultipleChoiceField(
        label=_("项目组"), queryset=get_user_model().objects.filter(is_active=True), required=False
    )

    class Meta:
        model = m.CompilationProject
        fields = ["title", "description", "status", "start_date", "team"]
        widgets = {"start_date": DATE}


class SourceForm(forms.Form):
    item = forms.CharField(label=_("档号或条目编号"), max_length=100)
    note = forms.CharField(label=_("选材说明"), max_length=500, required=False)


class PublicationForm(forms.ModelForm):
    upload = forms.FileField(label=_("文件"), required=False)

    class Meta:
        model = m.Publication
        fields = ["title", "kind", "isbn", "year"]


class OralProjectForm(forms.ModelForm):
    class Meta:
        model = m.OralHistoryProject
        fields = ["title", "description", "fonds", "series"]


class IntervieweeForm(forms.ModelForm):
    class Meta:
        model = m.Interviewee
        fields = ["name", "birth_year", "bio", "contact"]


class InterviewForm(forms.ModelForm):
    consent_file = forms.FileField(
        label=_("授权书（PDF）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    class Meta:
        model = m.Interview
        fields = [
            "interviewee",
            "title",
            "date",
            "place",
            "interviewer",
            "duration",
            "rights",
            "embargo_until",
            "permitted_uses",
        ]
        widgets = {"date": DATE, "embargo_until": DATE}

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            self.fields["interviewee"].queryset = project.interviewees.all()


class MediaForm(forms.Form):
    file = forms.FileField(
        label=_("音视频文件"),
        help_text=_("WAV、MP3 或 MP4"),
        widget=forms.ClearableFileInput(attrs={"accept": ".wav,.mp3,.mp4,audio/*,video/mp4"}),
    )


class TranscriptForm(forms.Form):
    FORMATS = [
        ("auto", _("自动识别")),
        ("vtt", "WebVTT"),
        ("srt", "SRT"),
        ("plain", _("[时:分:秒] 说话人：文字")),
    ]
    fmt = forms.ChoiceField(label=_("格式"), choices=FORMATS, initial="auto")
    file = forms.FileField(label=_("转写稿文件"), required=False)
    text = forms.CharField(label=_("或粘贴文字"), widget=forms.Textarea(attrs={"rows": 6}),
                           required=False)  # fmt: skip

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            raw = upload.read(20 * 1024 * 1024 + 1)
            if len(raw) > 20 * 1024 * 1024:
                raise ValidationError(_("转写稿文件过大（最多 20 MB）。"))
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    data["text"] = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise ValidationError(_("无法识别转写稿的文字编码（请用 UTF-8）。"))
        if not (data.get("text") or "").strip():
            raise ValidationError(_("请上传转写稿文件或粘贴文字。"))
        return data


class ItemForm(forms.Form):
    retention = forms.ChoiceField(
        label=_("保管期限"),
        choices=[("Y", _("永久")), ("D30", _("定期30年")), ("D10", _("定期10年"))],
        initial="Y",
    )
