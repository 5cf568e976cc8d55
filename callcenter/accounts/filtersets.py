"""One FilterSet per model: the UI list, bulk selection, export and the API all use it."""

from __future__ import annotations

import django_filters as df
from django.db.models import Q
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.choices import AgentType, LoginChannel, LoginResult
from callcenter.accounts.models import Agent, CallerId, Department, LoginLog, Role
from callcenter.core.filtersets import TenantFilterSet


def agent_choices():
    """Agents offered in a filter's <select>: every agent of the enterprise, on every page view,
    so only the columns of the label ("801 张三") are loaded."""
    return Agent.objects.only("id", "enterprise_id", "number", "name").order_by("number")


class AgentFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("搜索"), method="search", help_text=_("坐席号、姓名、电话或备注1-4"))
    agent_type = df.ChoiceFilter(label=_("坐席类型"), choices=AgentType.choices)
    department = df.ModelChoiceFilter(label=_("部门"), queryset=Department.objects.all())
    supervisor = df.ModelChoiceFilter(label=_("坐席上级"), queryset=agent_choices())
    role = df.ModelChoiceFilter(label=_("角色"), queryset=Role.objects.all())
    caller_id = df.ModelChoiceFilter(label=_("外显号码"), queryset=CallerId.objects.all())
    number_from = df.CharFilter(label=_("坐席号从"), method="number_range")
    number_to = df.CharFilter(label=_("坐席号到"), method="number_range")

    class Meta:
        model = Agent
        fields = ["q", "agent_type", "department", "supervisor", "role", "caller_id"]

    def number_range(self, queryset, name, value):
        """Agent numbers compare as numbers: every 3-digit number is below every 4-digit one."""
        value = value.strip()
        if not value.isdigit():
            return queryset.none()
        qs = queryset.alias(number_len=Length("number"))
        width = len(value)
        if name == "number_from":
            return qs.filter(Q(number_len=width, number__gte=value) | Q(number_len__gt=width))
        return qs.filter(Q(number_len=width, number__lte=value) | Q(number_len__lt=width))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__startswith=value) | Q(name__icontains=value) | Q(phone__contains=value)
            | Q(remark1__icontains=value) | Q(remark2__icontains=value) | Q(remark3__icontains=value)
            | Q(remark4__icontains=value))


class DepartmentFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")
    parent = df.ModelChoiceFilter(label=_("上级部门"), queryset=Department.objects.all())

    class Meta:
        model = Department
        fields = ["q", "parent"]


class CallerIdFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("号码"), field_name="number", lookup_expr="contains")

    class Meta:
        model = CallerId
        fields = ["q"]


class RoleFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")

    class Meta:
        model = Role
        fields = ["q"]


class LoginLogFilterSet(TenantFilterSet):
    agent = df.ModelChoiceFilter(label=_("坐席"), queryset=agent_choices())
    number = df.CharFilter(label=_("坐席号"), field_name="number")
    result = df.ChoiceFilter(label=_("结果"), choices=LoginResult.choices)
    channel = df.ChoiceFilter(label=_("登录渠道"), choices=LoginChannel.choices)
    since = df.DateTimeFilter(label=_("开始时间"), field_name="at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("结束时间"), field_name="at", lookup_expr="lt")

    class Meta:
        model = LoginLog
        fields = ["agent", "number", "result", "channel", "since", "until"]
