from __future__ import annotations

from functools import lru_cache

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from callcenter.core.tables import DateTimeColumn
from callcenter.crm.models import (
    Customer,
    CustomerCategory,
    CustomerField,
    FieldCode,
    ThirdPartySource,
    ThirdPartySubTable,
)


class LockColumn(tables.Column):
    def render(self, value, record):
        if not record.is_locked():
            return ""
        return format_html('<span class="badge text-bg-warning">{} {}</span>', _("锁定"), record.locked_by.number)


class DataColumn(tables.Column):
    """One custom field, read from `Customer.data`."""

    def __init__(self, *args, key: str, **kwargs):
        self.key = key
        super().__init__(*args, accessor="pk", orderable=False, empty_values=(), **kwargs)

    def render(self, value, record):
        return record.data.get(self.key, "")


class CustomerTable(tables.Table):
    name = tables.Column(verbose_name=_("客户名称"))
    phone = tables.Column(verbose_name=_("电话"))
    company = tables.Column(verbose_name=_("公司"))
    category = tables.Column(verbose_name=_("客户分类"))
    owner = tables.Column(verbose_name=_("归属坐席"))
    locked_by = LockColumn(verbose_name=_("锁定"), empty_values=())
    created_at = DateTimeColumn(verbose_name=_("创建时间"), format="Y-m-d H:i")

    class Meta:
        model = Customer
        fields = ()
        default_hidden = ()


def customer_table_for(fields) -> type[tables.Table]:
    """The customer table with the enterprise's custom fields as extra columns (hidden unless visible)."""
    return _customer_table(tuple((f.key, f.label, f.visible) for f in fields))


@lru_cache(maxsize=512)
def _customer_table(fields: tuple[tuple[str, str, bool], ...]) -> type[tables.Table]:
    # one class per set of field definitions, not one per request: building a table class costs
    # ~0.4 ms (django-tables2 copies every column); tables copy their columns again when made
    attrs = {f"f_{key}": DataColumn(verbose_name=label, key=key) for key, label, _visible in fields}
    hidden = tuple(f"f_{key}" for key, _label, visible in fields if not visible)
    meta = type("Meta", (CustomerTable.Meta,), {"default_hidden": hidden})
    return type("EnterpriseCustomerTable", (CustomerTable,), {**attrs, "Meta": meta})


class CustomerCategoryTable(tables.Table):
    name = tables.Column(verbose_name=_("分类名称"))
    remark = tables.Column(verbose_name=_("备注"))
    created_at = DateTimeColumn(verbose_name=_("创建时间"), format="Y-m-d H:i")

    class Meta:
        model = CustomerCategory
        fields = ()


class CustomerFieldTable(tables.Table):
    order = tables.Column(verbose_name=_("顺序"))
    label = tables.Column(verbose_name=_("字段名称"))
    key = tables.Column(verbose_name=_("字段键"))
    field_type = tables.Column(verbose_name=_("字段类型"))
    code = tables.Column(verbose_name=_("字段代码"))
    required = tables.BooleanColumn(verbose_name=_("必填"))
    visible = tables.BooleanColumn(verbose_name=_("显示"))
    width = tables.Column(verbose_name=_("宽度占比"))
    is_birthday = tables.BooleanColumn(verbose_name=_("生日字段"))

    class Meta:
        model = CustomerField
        fields = ()


class FieldCodeTable(tables.Table):
    name = tables.Column(verbose_name=_("代码名称"))
    remark = tables.Column(verbose_name=_("备注"))

    class Meta:
        model = FieldCode
        fields = ()


class ThirdPartySourceTable(tables.Table):
    name = tables.LinkColumn("crm:thirdpartysource_detail", args=[tables.A("pk")], verbose_name=_("名称"))
    kind = tables.Column(verbose_name=_("数据库类型"))
    host = tables.Column(verbose_name=_("地址"))
    database = tables.Column(verbose_name=_("数据库"))
    enabled = tables.BooleanColumn(verbose_name=_("生效"))
    timeout = tables.Column(verbose_name=_("超时（秒）"))

    class Meta:
        model = ThirdPartySource
        fields = ()


class ThirdPartySubTableTable(tables.Table):
    order = tables.Column(verbose_name=_("顺序"))
    name = tables.LinkColumn("crm:thirdpartysubtable_detail", args=[tables.A("pk")], verbose_name=_("名称"))
    source = tables.Column(verbose_name=_("第三方数据库"))
    enabled = tables.BooleanColumn(verbose_name=_("启用"))

    class Meta:
        model = ThirdPartySubTable
        fields = ()
