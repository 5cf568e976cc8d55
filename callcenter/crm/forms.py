"""Forms of the customer screens. The customer form is built from the enterprise's CustomerField
definitions; rules live in services.py and a refusal comes back on the field it names."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.choices import AgentType
from callcenter.accounts.models import Agent
from callcenter.core.forms import BulkEditForm, TenantModelForm, bootstrapify
from callcenter.crm import services
from callcenter.crm.choices import FieldType
from callcenter.crm.models import (
    PATH_SEP,
    CustomerCategory,
    CustomerField,
    FieldCode,
    ThirdPartySource,
    ThirdPartySubTable,
)


def active_agents(enterprise):
    return Agent.objects.filter(enterprise=enterprise).exclude(agent_type=AgentType.DISABLED).order_by("number")


def custom_form_field(f: CustomerField, paths: dict | None = None) -> forms.Field:
    """A form field for one custom field; values are checked again by the service."""
    common = {"label": f.label, "required": f.required}
    if f.field_type == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if f.field_type == FieldType.NUMBER:
        return forms.DecimalField(**common)
    if f.field_type == FieldType.EMAIL:
        return forms.EmailField(**common)
    if f.field_type == FieldType.CHOICE:
        choices = [("", "---------")]
        for path in (paths or {}):
            depth = path.count(PATH_SEP)
            choices.append((path, "\u3000" * depth + path.rsplit(PATH_SEP, 1)[-1]))
        field = forms.ChoiceField(choices=choices, **common)
        field.widget.attrs.update({"data-field-code": f.code_id, "class": "field-code"})
        return field
    return forms.CharField(max_length=500, **common)


class CustomerForm(forms.Form):
    category = forms.ModelChoiceField(label=_("客户分类"), queryset=CustomerCategory.objects.none())
    phone = forms.CharField(label=_("电话"), max_length=40)
    name = forms.CharField(label=_("客户名称"), max_length=100, required=False)
    company = forms.CharField(label=_("公司"), max_length=200, required=False)
    owner = forms.ModelChoiceField(label=_("归属坐席"), queryset=Agent.objects.none(), required=False)

    def __init__(self, data=None, files=None, *, instance=None, enterprise=None, user=None, **kwargs):
        self.instance = instance
        self.enterprise = enterprise
        self.user = user
        initial = {}
        if instance is not None:
            initial = {"category": instance.category_id, "phone": instance.phone, "name": instance.name,
                       "company": instance.company, "owner": instance.owner_id}
            initial.update({f"f_{k}": v for k, v in instance.data.items()})
        elif user is not None:
            initial["owner"] = user.pk
        super().__init__(data, files, initial=initial, **kwargs)
        self.fields["category"].queryset = CustomerCategory.objects.filter(enterprise=enterprise).order_by("name")
        self.fields["owner"].queryset = active_agents(enterprise)
        self.custom = services.fields_of(enterprise)
        paths = services.code_paths(self.custom)
        for f in self.custom:
            self.fields[f"f_{f.key}"] = custom_form_field(f, paths.get(f.code_id))
        # What the third party has for this number is shown from it, read-only: it is not stored here.
        self.provided = services.third_party_provided(enterprise, instance.phone) if instance is not None else {}
        for key, value in self.provided.items():
            name = key if key in ("name", "company") else f"f_{key}"
            if name in self.fields:
                self.fields[name] = forms.CharField(
                    label=self.fields[name].label, required=False, disabled=True, initial=value,
                    help_text=_("来自第三方数据库，不在本地保存"))
                self.initial[name] = value
        if instance is None and self.is_bound:
            # a new customer: what the third party has for the typed number need not be filled in
            try:
                phone = services.normalise_phone(self.data.get("phone", ""))
            except ValueError:
                phone = ""
            for key in services.third_party_provided(enterprise, phone):
                name = key if key in ("name", "company") else f"f_{key}"
                if name in self.fields:
                    self.fields[name].required = False
        bootstrapify(self)

    def values(self) -> dict:
        return {k: self.cleaned_data[k] for k in ("category", "phone", "name", "company", "owner")}

    def data_values(self) -> dict:
        out = {}
        for f in self.custom:
            value = self.cleaned_data.get(f"f_{f.key}")
            out[f.key] = "" if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))
        return out


class CustomerBulkEditForm(BulkEditForm):
    """【批量调整】: choose a field, type the new value; every selected customer gets it."""

    field = forms.ChoiceField(label=_("字段"))
    value = forms.CharField(label=_("调整后的值"), max_length=500, required=False,
                            help_text=_("客户分类、归属坐席填名称或坐席号；字段代码填值（多级用 / 分隔）"))

    def __init__(self, *args, enterprise=None, user=None, **kwargs):
        super().__init__(*args, enterprise=enterprise, user=user, **kwargs)
        choices = [("name", _("客户名称")), ("company", _("公司")), ("category", _("客户分类")),
                   ("owner", _("归属坐席"))]
        choices += [(f.key, f.label) for f in services.fields_of(enterprise)]
        self.fields["field"].choices = choices
        self.fields["field"].required = True

    def clean(self):
        data = super().clean()
        field, value = data.get("field"), (data.get("value") or "").strip()
        if field == "category":
            cat = CustomerCategory.objects.filter(enterprise=self.enterprise, name=value).first()
            if cat is None:
                self.add_error("value", _("客户分类“%(v)s”不存在") % {"v": value})
            data["resolved"] = cat
        elif field == "owner":
            agent = active_agents(self.enterprise).filter(number=value).first() if value else None
            if value and agent is None:
                self.add_error("value", _("坐席 %(v)s 不存在") % {"v": value})
            data["resolved"] = agent
        else:
            data["resolved"] = value
        return data

    def changes(self) -> dict:
        return {"field": self.cleaned_data["field"], "value": self.cleaned_data["resolved"]}


class CustomerCategoryForm(TenantModelForm):
    class Meta:
        model = CustomerCategory
        fields = ["name", "remark"]

    def validate_unique(self):
        pass


class CustomerFieldForm(TenantModelForm):
    class Meta:
        model = CustomerField
        fields = ["key", "label", "field_type", "code", "required", "visible", "order", "width", "is_birthday"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key"].disabled = True

    def validate_unique(self):
        pass

    def validate_constraints(self, exclude=None):
        pass

    def values(self) -> dict:
        return {n: self.cleaned_data[n] for n in self._meta.fields if n in self.cleaned_data}


class PopFieldsForm(forms.Form):
    """【设置弹屏字段】: one row per customer field (name, width share, type, field code, visible,
    required), in the order the page posts them (【上】【下】)."""

    ATTRS = ("label", "width", "field_type", "code", "visible", "required")

    def __init__(self, *args, enterprise=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom = services.fields_of(enterprise)
        if self.is_bound:
            # a field added after the page was opened is left as it is
            self.custom = [f for f in self.custom if f"f{f.pk}_label" in self.data]
        codes = FieldCode.objects.filter(enterprise=enterprise).order_by("name")
        for f in self.custom:
            p = f"f{f.pk}_"
            self.fields[p + "label"] = forms.CharField(label=_("字段名称"), max_length=60, initial=f.label)
            self.fields[p + "width"] = forms.IntegerField(label=_("宽度占比"), min_value=1, max_value=100,
                                                          initial=f.width)
            self.fields[p + "field_type"] = forms.ChoiceField(label=_("字段类型"), choices=FieldType.choices,
                                                              initial=f.field_type)
            self.fields[p + "code"] = forms.ModelChoiceField(label=_("字段代码"), queryset=codes, required=False,
                                                             initial=f.code_id)
            self.fields[p + "visible"] = forms.BooleanField(label=_("显示"), required=False, initial=f.visible)
            self.fields[p + "required"] = forms.BooleanField(label=_("必填"), required=False, initial=f.required)
        bootstrapify(self)

    def table(self) -> list[tuple]:
        """(field, {attr: bound field}) per row, for the template."""
        return [(f, {a: self[f"f{f.pk}_{a}"] for a in self.ATTRS}) for f in self.custom]

    def rows(self, order: list[str]) -> list[dict]:
        """The cleaned rows in the posted order (fields missing from it keep their place after)."""
        position = {pk: i for i, pk in enumerate(order)}
        fields = sorted(self.custom, key=lambda f: position.get(str(f.pk), len(position) + f.order))
        d = self.cleaned_data
        return [{"field": f, **{a: d[f"f{f.pk}_{a}"] for a in self.ATTRS}} for f in fields]


class FieldCodeForm(TenantModelForm):
    class Meta:
        model = FieldCode
        fields = ["name", "remark"]

    def validate_unique(self):
        pass


class FieldCodeValueForm(forms.Form):
    value = forms.CharField(label=_("值"), max_length=60)
    parent = forms.TypedChoiceField(label=_("上级值"), required=False, coerce=int, empty_value=None)
    order = forms.IntegerField(label=_("顺序"), min_value=0, initial=0, required=False)

    def __init__(self, *args, code=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", _("（第一级）"))] + [
            (v.pk, p) for p, v in code.paths().items()]
        bootstrapify(self)


class TransferForm(forms.Form):
    to_agent = forms.ModelChoiceField(label=_("转移给坐席"), queryset=Agent.objects.none())

    def __init__(self, *args, enterprise=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_agent"].queryset = active_agents(enterprise)
        bootstrapify(self)


# --- third-party databases (2.7.4) and sub-tables (2.7.5) ------------------------------------------------


class ThirdPartySourceForm(TenantModelForm):
    password = forms.CharField(label=_("密码"), required=False, strip=False,
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                               help_text=_("保存后不再显示；编辑时留空则不修改"))

    class Meta:
        model = ThirdPartySource
        fields = ["name", "kind", "host", "port", "database", "user", "password", "sql", "timeout"]
        widgets = {"sql": forms.Textarea(attrs={"rows": 4, "class": "font-monospace"})}

    def clean(self):
        data = super().clean()
        if data.get("sql") and data.get("kind"):
            from django.core.exceptions import ValidationError

            from callcenter.crm import thirdparty

            try:
                data["sql"] = thirdparty.validate_sql(data["sql"], data["kind"])
            except ValidationError as exc:
                self.add_error("sql", exc.messages)
        return data

    def validate_unique(self):
        pass

    def validate_constraints(self, exclude=None):
        pass

    def values(self) -> dict:
        return {n: self.cleaned_data[n] for n in self._meta.fields if n in self.cleaned_data}


class ThirdPartySubTableForm(TenantModelForm):
    class Meta:
        model = ThirdPartySubTable
        fields = ["source", "name", "sql", "enabled", "order"]
        widgets = {"sql": forms.Textarea(attrs={"rows": 4, "class": "font-monospace"})}

    def clean(self):
        data = super().clean()
        if data.get("sql") and data.get("source"):
            from django.core.exceptions import ValidationError

            from callcenter.crm import thirdparty

            try:
                data["sql"] = thirdparty.validate_sql(data["sql"], data["source"].kind)
            except ValidationError as exc:
                self.add_error("sql", exc.messages)
        return data

    def validate_unique(self):
        pass

    def validate_constraints(self, exclude=None):
        pass

    def values(self) -> dict:
        return {n: self.cleaned_data[n] for n in self._meta.fields if n in self.cleaned_data}


class ThirdPartyTestForm(forms.Form):
    phone = forms.CharField(label=_("电话"), max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)


class ThirdPartyMappingForm(forms.Form):
    """One select of the source's columns per local field (name, company, each custom field)."""

    def __init__(self, *args, source=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "---------")] + [(c, c) for c in source.columns or []]
        for key, label in services.local_keys(source.enterprise):
            self.fields[f"m_{key}"] = forms.ChoiceField(label=label, choices=choices, required=False,
                                                        initial=(source.mapping or {}).get(key, ""))
        bootstrapify(self)

    def mapping(self) -> dict:
        return {name[2:]: value for name, value in self.cleaned_data.items() if value}


class SubTableColumnsForm(forms.Form):
    """Label, order and visibility of each column of a sub-table (【上】【下】【编辑】)."""

    def __init__(self, *args, table=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.names = [c["name"] for c in table.columns or []]
        for i, c in enumerate(table.columns or []):
            self.fields[f"label_{i}"] = forms.CharField(label=c["name"], max_length=60, initial=c.get("label"))
            self.fields[f"order_{i}"] = forms.IntegerField(label=_("顺序"), initial=c.get("order", i))
            self.fields[f"visible_{i}"] = forms.BooleanField(label=_("显示"), required=False,
                                                             initial=c.get("visible", True))
        bootstrapify(self)

    def rows(self):
        return [(name, self[f"label_{i}"], self[f"order_{i}"], self[f"visible_{i}"])
                for i, name in enumerate(self.names)]

    def columns(self) -> list[dict]:
        d = self.cleaned_data
        return [{"name": name, "label": d[f"label_{i}"], "order": d[f"order_{i}"], "visible": d[f"visible_{i}"]}
                for i, name in enumerate(self.names)]
