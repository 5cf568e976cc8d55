"""跟踪记录 (T13, manual 2.1.9) as a generic screen, and the workspace's menu entry."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from callcenter.core import navigation
from callcenter.core.screens import Screen, register
from callcenter.workspace import filtersets, tables
from callcenter.workspace.models import FollowUp


class FollowUpScreen(Screen):
    model = FollowUp
    section = "tasks"
    menu_order = 32
    filterset_class = filtersets.FollowUpFilterSet
    table_class = tables.FollowUpTable
    actions = ("list", "detail", "export")
    sort_fields = {"created_at": "created_at"}
    default_sort = "-created_at"
    select_related = ("agent", "customer")
    detail_fields = ["created_at", "agent", "phone", "customer", "result", "next_contact_at", "text", "call_id"]
    export_columns = [
        (_("记录时间"), "created_at"), (_("坐席"), "agent"), (_("电话"), "phone"), (_("客户"), "customer.name"),
        (_("跟踪结果"), "get_result_display"), (_("下次联系时间"), "next_contact_at"), (_("跟踪内容"), "text"),
        (_("通话ID"), "call_id"),
    ]


followup_screen = register(FollowUpScreen)
navigation.register("tasks", _("坐席工作台"), "workspace:index", "workspace.use_workspace", order=5)
