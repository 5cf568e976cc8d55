"""【导入】 customers into a category chosen on the import page (manual 2.3.1).

The template's columns come from the enterprise's customer fields. Each bad row is reported:
a bad phone, a value not in its field code, a phone repeated within the file, a bad value of
any typed field; the good rows are saved.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from callcenter.accounts.models import Agent
from callcenter.core import audit
from callcenter.core.importing import Column, Importer
from callcenter.crm import services
from callcenter.crm.choices import FieldType
from callcenter.crm.models import Customer, CustomerCategory


class CustomerImporter(Importer):
    key = "customers"
    label = gettext_lazy("客户资料")
    description = gettext_lazy("导入到所选的客户分类；电话在文件中不能重复；字段代码填值，多级用 / 分隔，如 A/A1")

    @classmethod
    def option_fields(cls, *, enterprise, user) -> dict:
        choices = [(str(c.pk), c.name) for c in CustomerCategory.objects.filter(enterprise=enterprise).order_by("name")]
        return {"category": forms.ChoiceField(label=gettext_lazy("客户分类"), choices=[("", "---------"), *choices])}

    def get_columns(self) -> list[Column]:
        self.custom = services.fields_of(self.enterprise)
        columns = [Column(_("客户名称"), "name", example="张三"),
                   Column(_("电话"), "phone", required=True, example="13800138000"),
                   Column(_("公司"), "company"),
                   Column(_("归属坐席"), "owner", help=_("坐席号；留空为导入人"), example="801")]
        for f in self.custom:
            help_text = str(f.get_field_type_display())
            if f.field_type == FieldType.CHOICE and f.code_id:
                help_text += "：" + "、".join(f.code.paths())
            columns.append(Column(f.label, f"f_{f.key}", required=f.required, help=help_text))
        return columns

    def prepare(self) -> None:
        self.get_columns()
        self.paths = services.code_paths(self.custom)
        self.category = CustomerCategory.objects.get(enterprise=self.enterprise, pk=int(self.options["category"]))
        self.agents = {a.number: a for a in Agent.objects.filter(enterprise=self.enterprise).only(
            "id", "number", "enterprise_id")}
        self.seen: dict[str, int] = {}
        self.row = 1

    def validate_row(self, values):
        self.row += 1
        errors = []
        raw_phone = values.get("phone", "")
        phone = None
        if not raw_phone:
            errors.append(_("电话：不能为空"))
        else:
            try:
                phone = services.normalise_phone(raw_phone)
            except ValueError:
                errors.append(_("电话：“%(v)s”不是有效的电话号码（3到20位数字）") % {"v": raw_phone})
        if phone and phone in self.seen:
            errors.append(_("电话：%(p)s 在文件中重复（与第 %(n)s 行）") % {"p": phone, "n": self.seen[phone]})
        owner = self.user
        number = values.get("owner", "").strip()
        if number:
            owner = self.agents.get(number)
            if owner is None:
                errors.append(_("归属坐席：%(n)s 不存在") % {"n": number})
        data = {}
        for f in self.custom:
            try:
                value = services.clean_value(f, values.get(f"f_{f.key}", ""), self.paths.get(f.code_id))
            except ValidationError as exc:
                errors.extend(exc.messages)
                continue
            if value is not None:
                data[f.key] = value
        if errors:
            raise ValidationError(errors)
        self.seen[phone] = self.row
        return Customer(enterprise=self.enterprise, category=self.category, owner=owner, phone=phone,
                        name=values.get("name", "")[:100], company=values.get("company", "")[:200], data=data,
                        created_at=timezone.now())

    def save(self, items) -> int:
        with transaction.atomic():
            created = Customer.objects.bulk_create(items, batch_size=1000)
            if created and created[0].pk is None:  # a backend that does not return ids
                return len(created)
            audit.record_many([(c, "create", audit.diff({}, audit.snapshot(c))) for c in created])
        return len(created)


CUSTOMER_IMPORTERS = {CustomerImporter.key: CustomerImporter}
