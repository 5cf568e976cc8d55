"""The calls screens: 通话详单 (2.1.3) and 漏接明细 (2.4.5). Read-only: call control writes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from callcenter.calls import filtersets, tables
from callcenter.calls.models import Cdr, MissedCall
from callcenter.core.screens import Screen, register


class CdrScreen(Screen):
    model = Cdr
    section = "tasks"
    menu_order = 30
    filterset_class = filtersets.CdrFilterSet
    table_class = tables.CdrTable
    actions = ("list", "detail", "export")
    sort_fields = {"started_at": "started_at"}
    default_sort = "-started_at"
    select_related = ("agent", "recording")
    detail_template = "calls/cdr_detail.html"
    detail_fields = ["call_id", "direction", "caller", "callee", "did", "trunk", "agent_number", "agent",
                     "group_name", "queue_name", "flow", "started_at", "answered_at", "ended_at", "ring_seconds",
                     "talk_seconds", "cause", "cause_text", "last_key", "outcome", "task_id", "attempt_id"]
    export_columns = [
        (_("开始时间"), "started_at"), (_("呼叫方向"), "get_direction_display"), (_("主叫号码"), "caller"),
        (_("被叫号码"), "callee"), (_("呼入号码"), "did"), (_("坐席"), "agent_label"), (_("坐席组"), "group_name"),
        (_("队列"), "queue_name"), (_("接通时间"), "answered_at"), (_("结束时间"), "ended_at"),
        (_("振铃时长（秒）"), "ring_seconds"), (_("通话时长（秒）"), "talk_seconds"), (_("挂断原因码"), "cause"),
        (_("挂断原因"), "get_cause_display"), (_("最后按键"), "last_key"), (_("结果"), "outcome"),
        (_("任务ID"), "task_id"), (_("录音"), "has_recording"), (_("通话ID"), "call_id"),
    ]


class MissedCallScreen(Screen):
    model = MissedCall
    section = "reports"
    menu_order = 50
    filterset_class = filtersets.MissedCallFilterSet
    table_class = tables.MissedCallTable
    actions = ("list", "export")
    sort_fields = {"at": "at"}
    default_sort = "-at"
    select_related = ("rang_agent",)
    export_columns = [
        (_("来电时间"), "at"), (_("来电号码"), "caller"), (_("振铃坐席"), "rang_agent"), (_("坐席组"), "group_name"),
        (_("队列"), "queue_name"), (_("已查看"), "seen"), (_("通话ID"), "call_id"),
    ]


cdr_screen = register(CdrScreen)
missed_call_screen = register(MissedCallScreen)
