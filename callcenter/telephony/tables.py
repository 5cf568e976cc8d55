from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from callcenter.telephony.models import (
    AgentGroup,
    BlacklistEntry,
    CallFlow,
    IvrMenu,
    Prompt,
    Queue,
    Route,
    Schedule,
    Trunk,
)


class ActionColumn(tables.Column):
    """A 【…】 link on each row to a page of that row (设置坐席, 设置 ...)."""

    def __init__(self, *args, url_name: str, text, **kwargs):
        self.url_name = url_name
        self.text = text
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("orderable", False)
        super().__init__(*args, **kwargs)

    def render(self, record):
        return format_html('<a href="{}">【{}】</a>', reverse(self.url_name, args=[record.pk]), self.text)


class EnabledColumn(tables.Column):
    def render(self, value):
        if value:
            return format_html('<span class="badge text-bg-success">{}</span>', _("启用"))
        return format_html('<span class="badge text-bg-secondary">{}</span>', _("禁用"))


class PromptTable(tables.Table):
    name = tables.Column(verbose_name=_("语音名称"))
    kind = tables.Column(verbose_name=_("类型"))
    duration = tables.Column(verbose_name=_("时长（秒）"), accessor="duration_ms", orderable=False)
    size = tables.Column(verbose_name=_("大小（KB）"))
    remark = tables.Column(verbose_name=_("备注"))
    created_at = tables.DateTimeColumn(verbose_name=_("上传时间"), format="Y-m-d H:i")

    class Meta:
        model = Prompt
        fields = ()

    def render_duration(self, value):
        return f"{value / 1000:.1f}"

    def render_size(self, value):
        return f"{value / 1024:.0f}"


class AgentGroupTable(tables.Table):
    name = tables.Column(verbose_name=_("坐席组名"))
    order_rule = tables.Column(verbose_name=_("转接顺序"))
    enabled = EnabledColumn(verbose_name=_("状态"))
    member_count = tables.Column(verbose_name=_("坐席数"), orderable=False)
    remark = tables.Column(verbose_name=_("备注"))
    members = ActionColumn(verbose_name=_("操作"), url_name="telephony:agentgroup_members", text=_("设置坐席"))

    class Meta:
        model = AgentGroup
        fields = ()


class CallFlowTable(tables.Table):
    name = tables.Column(verbose_name=_("流程名称"))
    transfer_mode = tables.Column(verbose_name=_("坐席转接"))
    prompt = tables.Column(verbose_name=_("播放语音"))
    ringback = tables.Column(verbose_name=_("转接彩铃"))
    agent_group = tables.Column(verbose_name=_("坐席组"))
    caller_id = tables.Column(verbose_name=_("外显号码"))
    dial_ratio = tables.Column(verbose_name=_("发送比例（%）"))
    extra_lines = tables.Column(verbose_name=_("追加外呼数"))
    retries = tables.Column(verbose_name=_("重呼次数"))
    sms_enabled = tables.BooleanColumn(verbose_name=_("短信发送状态"))
    remark = tables.Column(verbose_name=_("流程说明"))

    class Meta:
        model = CallFlow
        fields = ()
        default_hidden = ("caller_id", "extra_lines", "retries", "sms_enabled")


class TrunkTable(tables.Table):
    account = tables.Column(verbose_name=_("帐号"))
    number = tables.Column(verbose_name=_("外线号码"))
    prefix = tables.Column(verbose_name=_("前呼号码"))
    server_type = tables.Column(verbose_name=_("服务器类型"))
    server_ip = tables.Column(verbose_name=_("服务器IP"))
    concurrent_lines = tables.Column(verbose_name=_("并发外线数"))
    reserved_lines = tables.Column(verbose_name=_("群呼外线数"))
    enabled = EnabledColumn(verbose_name=_("状态"))
    remark = tables.Column(verbose_name=_("备注"))
    dids = ActionColumn(verbose_name=_("呼入导航"), url_name="telephony:trunk_dids", text=_("设置"))

    class Meta:
        model = Trunk
        fields = ()
        default_hidden = ("remark",)


class QueueTable(tables.Table):
    name = tables.Column(verbose_name=_("队列名"))
    extension = tables.Column(verbose_name=_("队列分机号"))
    strategy = tables.Column(verbose_name=_("排队策略"))
    music = tables.Column(verbose_name=_("队列彩铃"))
    ring_seconds = tables.Column(verbose_name=_("单个振铃时长（秒）"))
    max_wait_seconds = tables.Column(verbose_name=_("拨号超时时间（秒）"))
    enabled = EnabledColumn(verbose_name=_("队列状态"))
    member_count = tables.Column(verbose_name=_("坐席数"), orderable=False)
    members = ActionColumn(verbose_name=_("操作"), url_name="telephony:queue_members", text=_("设置坐席"))

    class Meta:
        model = Queue
        fields = ()
        default_hidden = ("ring_seconds", "max_wait_seconds")


class DatabaseRouteTable(tables.Table):
    priority = tables.Column(verbose_name=_("优先级"))
    name = tables.Column(verbose_name=_("名称"))
    numbers = tables.Column(verbose_name=_("来电号码"))
    customer_category = tables.Column(verbose_name=_("客户分类"))
    destination_kind = tables.Column(verbose_name=_("目标类型"))
    destination = tables.Column(verbose_name=_("目标"))
    enabled = EnabledColumn(verbose_name=_("状态"))

    class Meta:
        model = Route
        fields = ()

    def render_numbers(self, record):
        numbers = record.number_list()
        return ", ".join(numbers[:5]) + (f" …（{len(numbers)}）" if len(numbers) > 5 else "")


class AreaRouteTable(tables.Table):
    priority = tables.Column(verbose_name=_("优先级"))
    name = tables.Column(verbose_name=_("名称"))
    province = tables.Column(verbose_name=_("省份"))
    city = tables.Column(verbose_name=_("城市"))
    destination_kind = tables.Column(verbose_name=_("目标类型"))
    destination = tables.Column(verbose_name=_("目标"))
    enabled = EnabledColumn(verbose_name=_("状态"))

    class Meta:
        model = Route
        fields = ()


class IvrMenuTable(tables.Table):
    name = tables.Column(verbose_name=_("导航名称"))
    prompt = tables.Column(verbose_name=_("导航语音"))
    default_extensions = tables.Column(verbose_name=_("默认呼叫电话"))
    default_order = tables.Column(verbose_name=_("呼叫顺序"))
    ring_wait_seconds = tables.Column(verbose_name=_("振铃时长（秒）"))
    to_last_agent = tables.BooleanColumn(verbose_name=_("转最后通话员工"))
    direct_dial = tables.BooleanColumn(verbose_name=_("允许转分机"))
    key_count = tables.Column(verbose_name=_("按键数"), orderable=False)
    keys = ActionColumn(verbose_name=_("操作"), url_name="telephony:ivrmenu_keys", text=_("按键方案设置"))

    class Meta:
        model = IvrMenu
        fields = ()


class ScheduleTable(tables.Table):
    name = tables.Column(verbose_name=_("策略名称"))
    weekdays = tables.Column(verbose_name=_("导航时间（星期）"))
    default_menu = tables.Column(verbose_name=_("默认导航"))
    slot_count = tables.Column(verbose_name=_("时段数"), orderable=False)
    remark = tables.Column(verbose_name=_("备注"))

    class Meta:
        model = Schedule
        fields = ()

    def render_weekdays(self, record):
        from callcenter.telephony.choices import WEEKDAYS

        names = dict(WEEKDAYS)
        return "、".join(str(names[d]) for d in sorted(record.weekday_set()) if d in names)


class BlacklistTable(tables.Table):
    number = tables.Column(verbose_name=_("号码"))
    direction = tables.Column(verbose_name=_("方向"))
    remark = tables.Column(verbose_name=_("备注"))
    created_at = tables.DateTimeColumn(verbose_name=_("添加时间"), format="Y-m-d H:i")

    class Meta:
        model = BlacklistEntry
        fields = ()
