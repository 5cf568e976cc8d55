"""Form bases: every choice of a related row is confined to the user's enterprise."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


def bootstrapify(form: forms.BaseForm) -> forms.BaseForm:
    """Give every widget Bootstrap's classes."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
            continue
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()
    return form


def confine_choices(form: forms.BaseForm, enterprise) -> None:
    for field in form.fields.values():
        qs = getattr(field, "queryset", None)
        if qs is None:
            continue
        model = qs.model
        names = {f.name for f in model._meta.get_fields()}
        if "enterprise" in names:
            field.queryset = qs.filter(enterprise=enterprise)


class TenantModelForm(forms.ModelForm):
    def __init__(self, *args, enterprise=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        self.user = user
        confine_choices(self, enterprise)
        bootstrapify(self)


class BulkEditForm(forms.Form):
    """Fields left empty are not changed."""

    def __init__(self, *args, enterprise=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        self.user = user
        for field in self.fields.values():
            field.required = False
        confine_choices(self, enterprise)
        bootstrapify(self)

    def changes(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "", [])}


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(label=_("确认"), required=True)
