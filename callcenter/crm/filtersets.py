"""One FilterSet per model: the UI list, bulk selection, export and the API all use it."""

from __future__ import annotations

import django_filters as df
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.filtersets import agent_choices
from callcenter.core.filtersets import TenantFilterSet
from callcenter.crm.choices import FieldType
from callcenter.crm.models import (
    Customer,
    CustomerCategory,
    CustomerField,
    FieldCode,
    FieldCodeValue,
    ThirdPartySource,
    ThirdPartySubTable,
)


class CustomerFilterSet(TenantFilterSet):
    category = df.ModelChoiceFilter(label=_("客户分类"), queryset=CustomerCategory.objects.order_by("name"))
    owner = df.ModelChoiceFilter(label=_("归属坐席"), queryset=agent_choices())
    phone = df.CharFilter(label=_("电话"), method="exact_phone", help_text=_("完整号码"))
    name = df.CharFilter(label=_("客户名称"), field_name="name", lookup_expr="startswith")
    company = df.CharFilter(label=_("公司"), field_name="company", lookup_expr="icontains")
    locked = df.ChoiceFilter(label=_("锁定"), method="by_lock", choices=[("yes", _("已锁定")), ("no", _("未锁定"))])
    created_since = df.DateTimeFilter(label=_("创建时间从"), field_name="created_at", lookup_expr="gte")
    created_until = df.DateTimeFilter(label=_("创建时间到"), field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["category", "owner", "phone", "name", "company", "locked", "created_since", "created_until"]

    def exact_phone(self, queryset, name, value):
        from callcenter.crm.services import normalise_phone

        try:
            return queryset.filter(phone=normalise_phone(value))
        except ValueError:
            return queryset.none()

    def by_lock(self, queryset, name, value):
        now = timezone.now()
        from django.db.models import Q

        live = Q(locked_by__isnull=False) & (Q(locked_until__isnull=True) | Q(locked_until__gt=now))
        return queryset.filter(live) if value == "yes" else queryset.exclude(live)


class CustomerCategoryFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")

    class Meta:
        model = CustomerCategory
        fields = ["q"]


class CustomerFieldFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("字段名称"), field_name="label", lookup_expr="icontains")
    field_type = df.ChoiceFilter(label=_("字段类型"), choices=FieldType.choices)
    visible = df.BooleanFilter(label=_("显示"))

    class Meta:
        model = CustomerField
        fields = ["q", "field_type", "visible"]


class FieldCodeFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")

    class Meta:
        model = FieldCode
        fields = ["q"]


class FieldCodeValueFilterSet(TenantFilterSet):
    code = df.ModelChoiceFilter(label=_("字段代码"), queryset=FieldCode.objects.all())
    parent = df.NumberFilter(label=_("上级值"), field_name="parent_id")
    root = df.BooleanFilter(label=_("第一级"), field_name="parent", lookup_expr="isnull")

    class Meta:
        model = FieldCodeValue
        fields = ["code", "parent", "root"]


class ThirdPartySourceFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")
    enabled = df.BooleanFilter(label=_("生效"))

    class Meta:
        model = ThirdPartySource
        fields = ["q", "enabled"]


class ThirdPartySubTableFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")
    source = df.ModelChoiceFilter(label=_("第三方数据库"), queryset=ThirdPartySource.objects.order_by("name"))

    class Meta:
        model = ThirdPartySubTable
        fields = ["q", "source"]
