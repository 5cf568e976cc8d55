"""One FilterSet per model: the UI list, export and the API all use it.

Phone numbers are matched exactly after normalising (an index lookup on 1,000,000 rows);
time ranges use the (enterprise, started_at, id) index.
"""

from __future__ import annotations

import django_filters as df
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent
from callcenter.calls.choices import CAUSE_CHOICES, AgentStatus, CallDirection, ChannelKind
from callcenter.calls.models import AgentState, Cdr, LiveChannel, MissedCall, Recording
from callcenter.core.filtersets import TenantFilterSet
from callcenter.core.scope import visible_agent_ids
from callcenter.pbx.callctl.logic.routing import normalize_number

YES_NO = [("yes", _("是")), ("no", _("否"))]


def _number(value: str) -> str:
    return normalize_number(value) or value.strip()


class ScopedAgentFilterSet(TenantFilterSet):
    """Agent choices narrowed to the agents whose rows the user may see."""

    agent_filters: tuple[str, ...] = ("agent",)

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "enterprise_id", None) is not None:
            ids = visible_agent_ids(user)
            for name in self.agent_filters:
                f = self.filters.get(name)
                if f is not None and ids is not None:
                    # ModelChoiceFilter builds its field from `.queryset`, not from `extra`.
                    f.queryset = f.queryset.filter(pk__in=ids)
                    f.extra["queryset"] = f.queryset


class CdrFilterSet(ScopedAgentFilterSet):
    since = df.DateTimeFilter(label=_("开始时间从"), field_name="started_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("开始时间到"), field_name="started_at", lookup_expr="lt")
    direction = df.ChoiceFilter(label=_("呼叫方向"), choices=CallDirection.choices)
    agent = df.ModelChoiceFilter(label=_("坐席"), queryset=Agent.objects.order_by("number"))
    number = df.CharFilter(label=_("主叫或被叫"), method="filter_number", help_text=_("完整号码"))
    caller = df.CharFilter(label=_("主叫号码"), method="filter_caller")
    callee = df.CharFilter(label=_("被叫号码"), method="filter_callee")
    cause = df.TypedChoiceFilter(label=_("挂断原因"), choices=[("", "---------"), *CAUSE_CHOICES], coerce=int)
    answered = df.ChoiceFilter(label=_("是否接通"), choices=YES_NO, method="filter_answered")
    has_recording = df.ChoiceFilter(label=_("有录音"), choices=YES_NO, method="filter_recording")
    min_talk = df.NumberFilter(label=_("通话时长不少于（秒）"), field_name="talk_seconds", lookup_expr="gte")
    last_key = df.CharFilter(label=_("最后按键"), field_name="last_key")
    task_id = df.NumberFilter(label=_("任务ID"), field_name="task_id")

    class Meta:
        model = Cdr
        fields = ["since", "until", "direction", "agent", "number", "caller", "callee", "cause", "answered",
                  "has_recording", "min_talk", "last_key", "task_id"]

    def filter_number(self, queryset, name, value):
        n = _number(value)
        return queryset.filter(Q(caller=n) | Q(callee=n)) if n else queryset

    def filter_caller(self, queryset, name, value):
        n = _number(value)
        return queryset.filter(caller=n) if n else queryset

    def filter_callee(self, queryset, name, value):
        n = _number(value)
        return queryset.filter(callee=n) if n else queryset

    def filter_answered(self, queryset, name, value):
        return queryset.filter(answered_at__isnull=value != "yes") if value else queryset

    def filter_recording(self, queryset, name, value):
        return queryset.filter(recording__isnull=value != "yes") if value else queryset


class RecordingFilterSet(ScopedAgentFilterSet):
    since = df.DateTimeFilter(label=_("录音时间从"), field_name="created_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("录音时间到"), field_name="created_at", lookup_expr="lt")
    agent = df.ModelChoiceFilter(label=_("坐席"), queryset=Agent.objects.order_by("number"))
    call_id = df.CharFilter(label=_("通话ID"), field_name="call_id")

    class Meta:
        model = Recording
        fields = ["since", "until", "agent", "call_id"]


class MissedCallFilterSet(ScopedAgentFilterSet):
    agent_filters = ("rang_agent",)

    since = df.DateTimeFilter(label=_("来电时间从"), field_name="at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("来电时间到"), field_name="at", lookup_expr="lt")
    rang_agent = df.ModelChoiceFilter(label=_("振铃坐席"), queryset=Agent.objects.order_by("number"))
    caller = df.CharFilter(label=_("来电号码"), method="filter_caller")
    group_name = df.CharFilter(label=_("坐席组"), field_name="group_name")
    queue_name = df.CharFilter(label=_("队列"), field_name="queue_name")
    seen = df.ChoiceFilter(label=_("已查看"), choices=YES_NO, method="filter_seen")

    class Meta:
        model = MissedCall
        fields = ["since", "until", "rang_agent", "caller", "group_name", "queue_name", "seen"]

    def filter_caller(self, queryset, name, value):
        n = _number(value)
        return queryset.filter(caller=n) if n else queryset

    def filter_seen(self, queryset, name, value):
        return queryset.filter(seen=value == "yes") if value else queryset


class AgentStateFilterSet(ScopedAgentFilterSet):
    state = df.ChoiceFilter(label=_("状态"), choices=AgentStatus.choices)
    agent = df.ModelChoiceFilter(label=_("坐席"), queryset=Agent.objects.order_by("number"))

    class Meta:
        model = AgentState
        fields = ["state", "agent"]


class LiveChannelFilterSet(ScopedAgentFilterSet):
    kind = df.ChoiceFilter(label=_("类型"), choices=ChannelKind.choices)
    agent = df.ModelChoiceFilter(label=_("坐席"), queryset=Agent.objects.order_by("number"))
    queue_name = df.CharFilter(label=_("队列"), field_name="queue_name")

    class Meta:
        model = LiveChannel
        fields = ["kind", "agent", "queue_name"]
