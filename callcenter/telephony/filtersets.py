"""One FilterSet per model: the UI list, bulk selection, export and the API all use it."""

from __future__ import annotations

import django_filters as df
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from callcenter.core.filtersets import TenantFilterSet
from callcenter.telephony.choices import (
    BlacklistDirection,
    DestinationKind,
    GroupOrder,
    PromptKind,
    QueueStrategy,
    RouteKind,
    TransferMode,
    TrunkServerType,
)
from callcenter.telephony.models import (
    AgentGroup,
    BlacklistEntry,
    CallFlow,
    DidRoute,
    IvrMenu,
    Prompt,
    Queue,
    Route,
    Schedule,
    Trunk,
)


class PromptFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("语音名称"), method="search")
    kind = df.ChoiceFilter(label=_("类型"), choices=PromptKind.choices)

    class Meta:
        model = Prompt
        fields = ["q", "kind"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(remark__icontains=value)) if value else queryset


class AgentGroupFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("坐席组名"), field_name="name", lookup_expr="icontains")
    order_rule = df.ChoiceFilter(label=_("转接顺序"), choices=GroupOrder.choices)
    enabled = df.BooleanFilter(label=_("启用"))

    class Meta:
        model = AgentGroup
        fields = ["q", "order_rule", "enabled"]


class CallFlowFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("流程名称"), field_name="name", lookup_expr="icontains")
    transfer_mode = df.ChoiceFilter(label=_("坐席转接"), choices=TransferMode.choices)
    agent_group = df.ModelChoiceFilter(label=_("坐席组"), queryset=AgentGroup.objects.all())
    prompt = df.ModelChoiceFilter(label=_("播放语音"), queryset=Prompt.objects.filter(kind=PromptKind.PROMPT))

    class Meta:
        model = CallFlow
        fields = ["q", "transfer_mode", "agent_group", "prompt"]


class TrunkFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("外线号码"), method="search")
    server_type = df.ChoiceFilter(label=_("服务器类型"), choices=TrunkServerType.choices)
    enabled = df.BooleanFilter(label=_("状态"))

    class Meta:
        model = Trunk
        fields = ["q", "server_type", "enabled"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__contains=value) | Q(account__icontains=value)
                               | Q(remark__icontains=value)) if value else queryset


class DidRouteFilterSet(TenantFilterSet):
    did = df.CharFilter(label=_("呼入号码"), lookup_expr="contains")
    trunk = df.ModelChoiceFilter(label=_("外线"), queryset=Trunk.objects.all())
    schedule = df.ModelChoiceFilter(label=_("导航策略"), queryset=Schedule.objects.all())

    class Meta:
        model = DidRoute
        fields = ["did", "trunk", "schedule"]


class QueueFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("队列名或分机号"), method="search")
    strategy = df.ChoiceFilter(label=_("排队策略"), choices=QueueStrategy.choices)
    enabled = df.BooleanFilter(label=_("队列状态"))

    class Meta:
        model = Queue
        fields = ["q", "strategy", "enabled"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(extension__startswith=value)) if value else queryset


class RouteFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("名称"), method="search")
    kind = df.ChoiceFilter(label=_("类型"), choices=RouteKind.choices)
    destination_kind = df.ChoiceFilter(label=_("目标类型"), choices=DestinationKind.choices)
    province = df.CharFilter(label=_("省份"))
    enabled = df.BooleanFilter(label=_("启用"))

    class Meta:
        model = Route
        fields = ["q", "kind", "destination_kind", "province", "enabled"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(destination=value)
                               | Q(numbers__contains=value)) if value else queryset


class DatabaseRouteFilterSet(RouteFilterSet):
    """The 数据库导航 screen: its list is already of one kind."""

    class Meta:
        model = Route
        fields = ["q", "destination_kind", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters.pop("kind", None)
        self.filters.pop("province", None)


class AreaRouteFilterSet(RouteFilterSet):
    class Meta:
        model = Route
        fields = ["q", "province", "destination_kind", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters.pop("kind", None)


class IvrMenuFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("导航名称"), field_name="name", lookup_expr="icontains")

    class Meta:
        model = IvrMenu
        fields = ["q"]


class ScheduleFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("策略名称"), field_name="name", lookup_expr="icontains")
    default_menu = df.ModelChoiceFilter(label=_("默认导航"), queryset=IvrMenu.objects.all())

    class Meta:
        model = Schedule
        fields = ["q", "default_menu"]


class BlacklistFilterSet(TenantFilterSet):
    q = df.CharFilter(label=_("号码"), field_name="number", lookup_expr="contains")
    direction = df.ChoiceFilter(label=_("方向"), choices=BlacklistDirection.choices)
    since = df.DateTimeFilter(label=_("添加时间从"), field_name="created_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("添加时间到"), field_name="created_at", lookup_expr="lt")

    class Meta:
        model = BlacklistEntry
        fields = ["q", "direction", "since", "until"]
