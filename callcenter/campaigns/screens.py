"""任务查询 (2.1.2, T4) declared as a screen: its list (query by name, period and status, with the
task actions above it) and the task page; 任务发送 (2.1.1, T1) is its own page (views.py) with its
own menu entry."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from callcenter.campaigns import filtersets, tables
from callcenter.campaigns.models import Task
from callcenter.core import navigation
from callcenter.core.screens import Screen, register


class TaskScreen(Screen):
    model = Task
    section = "tasks"
    menu_order = 20
    menu_label = _("任务查询")
    filterset_class = filtersets.TaskFilterSet
    table_class = tables.TaskTable
    actions = ("list", "detail")
    sort_fields = {"created_at": "created_at", "name": "name", "id": "id"}
    default_sort = "-created_at"
    select_related = ("flow", "category", "created_by")
    prefetch_related = ("windows",)
    list_template = "campaigns/task_list.html"
    detail_template = "campaigns/task_detail.html"

    @property
    def custom_views(self):
        from callcenter.campaigns import views

        return {"detail": views.TaskDetailView}


task_screen = register(TaskScreen)
navigation.register("tasks", _("任务发送"), "campaigns:task_send", "campaigns.add_task", order=10)
