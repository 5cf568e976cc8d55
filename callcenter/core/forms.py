"""Form bases: every choice of a related row is confined to the user's enterprise."""

from __future__ import annotations

from html import escape as _escape

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext_lazy as _


def _esc(value) -> str:
    """conditional_escape without its lazy-string wrapper for plain str (a 1,000-option select calls it
    2,000 times)."""
    return _escape(value) if type(value) is str else conditional_escape(value)


def _attrs_html(attrs: dict) -> str:
    """Django's widgets/attrs.html, in Python."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {conditional_escape(name)}" if value is True
                   else f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(out)


class FastSelect(forms.Select):
    """A <select> whose options are rendered in Python rather than one template include each.

    Same HTML as Django's select.html + select_option.html (same selection rule: the first
    option whose value matches), but a list of 1,000 agents renders in a few milliseconds
    instead of ~45 ms, and list screens show such lists in their filter bar on every page
    (see bench/: login-log list).
    """

    def render(self, name, value, attrs=None, renderer=None):
        if self.allow_multiple_selected or self.option_inherits_attrs:
            return super().render(name, value, attrs, renderer)
        wanted = set(self.format_value(value))
        esc = _esc
        parts = [f'<select name="{esc(name)}"{_attrs_html(self.build_attrs(self.attrs, attrs))}>']
        has_selected = False
        for option_value, option_label in self.choices:
            if option_value is None:
                option_value = ""
            if isinstance(option_label, list | tuple):
                group, options = option_value, option_label
            else:
                group, options = None, [(option_value, option_label)]
            if group:
                parts.append(f'\n  <optgroup label="{esc(group)}">')
            for sub_value, sub_label in options:
                text = str(sub_value)
                selected = not has_selected and text in wanted
                has_selected |= selected
                value_html = text if type(sub_value) is int else esc(text)  # a pk's digits need no escaping
                parts.append(f'\n  <option value="{value_html}"{" selected" if selected else ""}>{esc(sub_label)}'
                             f"</option>\n")
            if group:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped


class FastInputMixin:
    """An <input> widget rendered in Python: the same HTML as Django's input.html and attrs.html
    (each input of a filter bar cost ~0.2 ms through the template engine; a call-record list has
    eight, on every page)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        value = widget["value"]
        shown = ""
        if value != None:  # noqa: E711 - the template's test
            text = "%s" % (str(value) if isinstance(value, tuple) else value)  # stringformat:'s'
            shown = f' value="{text if isinstance(value, SafeData) else _esc(text)}"'
        return mark_safe(  # noqa: S308 - every piece escaped
            f'<input type="{_esc(widget["type"])}" name="{_esc(widget["name"])}"{shown}{_attrs_html(widget["attrs"])}>')


# Django's input widgets whose templates are just input.html, and their Python-rendered twins.
_FAST_INPUTS = {cls: type(f"Fast{cls.__name__}", (FastInputMixin, cls), {}) for cls in (
    forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput, forms.DateInput,
    forms.DateTimeInput, forms.TimeInput)}


def bootstrapify(form: forms.BaseForm) -> forms.BaseForm:
    """Give every widget Bootstrap's classes."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
            continue
        elif isinstance(widget, forms.Select):
            if type(widget) is forms.Select:  # not SelectMultiple, NullBooleanSelect ...: same state, faster render
                widget.__class__ = FastSelect
            css = "form-select form-select-sm"
        else:
            fast = _FAST_INPUTS.get(type(widget))
            if fast is not None:  # same state, faster render
                widget.__class__ = fast
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
