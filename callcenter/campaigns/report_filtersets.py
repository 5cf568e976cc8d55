"""Filters of the result screens: a task's numbers (T5 明细, `tasks/{id}/numbers`) and the numbers
agents worked across tasks (T8 坐席任务明细). The UI list, its export and the API share them."""

from __future__ import annotations

import django_filters as df
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent
from callcenter.calls.filtersets import ScopedAgentFilterSet
from callcenter.campaigns.choices import CallResult, NumberStatus
from callcenter.campaigns.models import Task, TaskNumber
from callcenter.pbx.callctl.logic.routing import normalize_number

NO_RESULT = "none"


def _number(value: str) -> str:
    return normalize_number(value) or value.strip()


class _NumberFilters(ScopedAgentFilterSet):
    phone = df.CharFilter(label=_("号码"), method="filter_phone", help_text=_("完整号码"))
    result = df.ChoiceFilter(label=_("结果"), choices=[(NO_RESULT, _("无结果")), *CallResult.choices],
                             method="filter_result")
    agent = df.ModelChoiceFilter(label=_("坐席"), queryset=Agent.objects.order_by("number"))

    def filter_phone(self, queryset, name, value):
        n = _number(value)
        return queryset.filter(phone=n) if n else queryset

    def filter_result(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(result="" if value == NO_RESULT else value)


class TaskNumberFilterSet(_NumberFilters):
    """明细 of one task. `task` is set by the page's URL (and must be a task the user may open);
    the others are the page's filter bar."""

    task = df.ModelChoiceFilter(label=_("任务"), queryset=Task.objects.all(), field_name="task")
    status = df.ChoiceFilter(label=_("状态"), choices=NumberStatus.choices, field_name="status")
    min_attempts = df.NumberFilter(label=_("呼叫次数不少于"), field_name="attempts", lookup_expr="gte", min_value=0)
    since = df.DateTimeFilter(label=_("最后呼叫从"), field_name="last_attempt_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("最后呼叫到"), field_name="last_attempt_at", lookup_expr="lt")

    class Meta:
        model = TaskNumber
        fields = ["task", "phone", "status", "result", "agent", "min_attempts", "since", "until"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "enterprise_id", None) is not None:
            from callcenter.campaigns.selectors import visible_tasks

            f = self.filters["task"]
            f.queryset = visible_tasks(user)
            f.extra["queryset"] = f.queryset


class AgentTaskNumberFilterSet(_NumberFilters):
    """坐席任务明细: numbers worked by agents in the user's data scope, across tasks."""

    name_filters = ("task",)

    since = df.DateTimeFilter(label=_("呼叫时间从"), field_name="last_attempt_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("呼叫时间到"), field_name="last_attempt_at", lookup_expr="lt")
    task = df.ModelChoiceFilter(label=_("任务"), queryset=Task.objects.order_by("-created_at", "-id"),
                                field_name="task")

    class Meta:
        model = TaskNumber
        fields = ["since", "until", "agent", "task", "result", "phone"]
