"""Forms for describing items (件) and volumes (案卷).

They are thin: validation and saving are the services' (``validate_item`` / ``create_item`` /
``update_item``), and a service ``ValidationError`` is shown on the form field it names.
Usage in a view::

    form = ItemForm(request.POST or None, instance=item, actor=request.user)
    if request.method == "POST" and form.is_valid():
        item = form.save()
        if item is not None:
            return redirect(...)
    # re-render: errors are in place
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from lantai.holdings import refcode, services
from lantai.holdings.models import Item, Volume

_DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_COMMON = [
    "fonds",
    "category",
    "series",
    "year",
    "retention",
    "catalog_no",
    "reference_code",
    "title",
    "responsible",
    "date_start",
    "date_end",
    "pages",
    "classification",
    "openness",
    "carrier",
    "keywords",
    "unit",
    "notes",
]


class _DescribedForm(forms.ModelForm):
    """Shared behaviour: the service validates, frozen fields are disabled once a 档号 is
    assigned, and the number is optional (allocated when left empty)."""

    kind: ClassVar[str] = ""
    number_field: ClassVar[str] = ""

    def __init__(self, *args, actor=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields[self.number_field].required = False
        self.fields[self.number_field].help_text = _("留空则自动取号")
        self.fields["reference_code"].help_text = _("留空则按档号规则自动生成")
        self.fields["year"].required = False
        for name in ("date_start", "date_end", "date"):
            if name in self.fields:
                self.fields[name].widget = _DATE_WIDGET
        if self.instance.pk and self.instance.reference_code:
            for name in self._frozen_fields():
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _("档号已确定，不能修改")

    def _frozen_fields(self) -> list[str]:
        frozen = ["reference_code", "fonds", "category", "year", "retention", "series"]
        frozen.append(self.number_field)
        if self.kind == "item":
            frozen.append("volume")
        scheme = refcode.scheme_for(self.instance.fonds_id, self.instance.category_id)
        template = (
            scheme.volume_template
            if self.kind == "volume"
            else (refcode.template_for_item(self.instance, scheme))
        )
        if "catalog" in refcode.placeholders(template):
            frozen.append("catalog_no")
        return frozen

    def service_data(self) -> dict[str, Any]:
        data = {
            name: self.cleaned_data.get(name)
            for name in self._meta.fields
            if name in self.cleaned_data
        }
        for name in (self.number_field, "reference_code", "year"):
            if data.get(name) in (None, ""):
                data.pop(name, None)
        return data

    def show_errors(self, error: ValidationError, *, skip: set[str] | None = None) -> None:
        """Put a service's field errors on the matching form fields (others on the form);
        fields named in ``skip`` already carry the form's own error and keep only that."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        skip = skip or set()
        for field, messages in error.message_dict.items():
            if field in skip:
                continue
            target = field if field in self.fields and field != NON_FIELD_ERRORS else None
            for message in messages:
                self.add_error(target, message)

    def _post_clean(self) -> None:
        # Instead of ModelForm's model validation the service checks everything, with the
        # messages the API and importers get: one set of rules. It runs even when some fields
        # failed their own parsing, so every problem shows at once.
        failed = set(self._errors)
        instance = self.instance if self.instance.pk else None
        try:
            self._validate(self.service_data(), instance)
        except ValidationError as error:
            self.show_errors(error, skip=failed)

    def _validate(self, data: dict, instance) -> None:
        raise NotImplementedError

    def _write(self, data: dict, instance):
        raise NotImplementedError

    def save(self, commit: bool = True):
        """Create or update through the service. Returns the saved object, or None when the
        service refused (the errors are then on the form)."""
        if self.errors:
            raise ValueError("save() called on an invalid form")
        try:
            self.instance = self._write(
                self.service_data(), self.instance if self.instance.pk else None
            )
        except ValidationError as error:
            self.show_errors(error)
            return None
        return self.instance


class ItemForm(_DescribedForm):
    kind = "item"
    number_field = "item_no"

    class Meta:
        model = Item
        fields: ClassVar[list[str]] = [
            *_COMMON[:5],
            "volume",
            "item_no",
            *_COMMON[5:8],
            "doc_number",
            "date",
            *_COMMON[8:],
        ]

    def _validate(self, data: dict, instance) -> None:
        services.validate_item(data, instance)

    def _write(self, data: dict, instance):
        if instance is None:
            return services.create_item(self.actor, data)
        return services.update_item(self.actor, instance, data)


class VolumeForm(_DescribedForm):
    kind = "volume"
    number_field = "volume_no"

    class Meta:
        model = Volume
        fields: ClassVar[list[str]] = [*_COMMON[:5], "volume_no", *_COMMON[5:]]

    def _validate(self, data: dict, instance) -> None:
        services.validate_volume(data, instance)

    def _write(self, data: dict, instance):
        if instance is None:
            return services.create_volume(self.actor, data)
        return services.update_volume(self.actor, instance, data)
