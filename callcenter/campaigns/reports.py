"""Result screens of a task (任务查询 2.1.2 【明细】【进度】) and 坐席任务明细 (2.1.4).

- T5 明细 `/campaigns/tasks/<id>/numbers/`: each number's status and result, filters, export,
  and the recording of its call played in the page with a waveform; a number's page lists
  every attempt with its call record and recording.
- T6 进度 `/campaigns/tasks/<id>/progress/`: state, dialled, answered, transferred, failed,
  remaining, the dialer's watched numbers (lines in use, abandon rate, talk minutes per
  agent-hour), with charts; polled every few seconds while the task is live.
- T8 坐席任务明细 `/campaigns/agent-numbers/`: the numbers agents in the viewer's data scope
  worked, across tasks.

A task's pages open for whoever may open the task (its enterprise, and the viewer's data
scope over its creator); the numbers of such a task are all shown. Recordings follow the
call records' own scope (the agent who took the call).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from callcenter.campaigns import report_filtersets, report_tables, selectors
from callcenter.campaigns.models import Attempt, TaskNumber
from callcenter.core.io_views import ExportView
from callcenter.core.screens import Screen, register
from callcenter.core.views import ColumnsView, ObjectListView, ScreenView


def _bound(table_class, user):
    """The table class with the viewer set, so it looks up only recordings the viewer may hear."""
    return type(table_class.__name__, (table_class,), {"viewer": user, "Meta": table_class.Meta})


def _agent_label(number) -> str:
    return str(number.agent) if number.agent_id else ""


def _customer_name(number) -> str:
    return number.customer.name if number.customer_id else ""


_NUMBER_EXPORT = [
    (gettext_lazy("行号"), "line_no"), (gettext_lazy("号码"), "phone"), (gettext_lazy("客户"), _customer_name),
    (gettext_lazy("状态"), "get_status_display"), (gettext_lazy("结果"), "get_result_display"),
    (gettext_lazy("呼叫次数"), "attempts"), (gettext_lazy("最后呼叫"), "last_attempt_at"),
    (gettext_lazy("坐席"), _agent_label), (gettext_lazy("通话时长（秒）"), "talk_seconds"),
    (gettext_lazy("通话ID"), "call_id"),
]


# --- T5 明细 ---------------------------------------------------------------------------------------


class TaskNumberScreen(Screen):
    model = TaskNumber
    filterset_class = report_filtersets.TaskNumberFilterSet
    table_class = report_tables.TaskNumberTable
    actions = ("list", "export")
    sort_fields = {"id": "id"}  # file order; (task, id) is an index
    default_sort = "id"
    select_related = ("customer", "agent")
    list_template = "campaigns/report_task_numbers.html"
    export_columns = _NUMBER_EXPORT

    def register_menu(self) -> None:
        """Opened from a task's row (【明细】), not from the menu."""

    def queryset(self, request):
        qs = TaskNumber.objects.select_related(*self.select_related)
        task = getattr(request, "campaign_task", None)
        if task is not None:
            return qs.filter(task=task)
        # an export job in the worker: the `task` filter narrows to one of these
        return qs.filter(enterprise_id=request.user.enterprise_id, task__in=selectors.visible_tasks(request.user))

    def get_table_class(self, request):
        return _bound(self.table_class, request.user)

    def get_urls(self) -> list:
        return [
            path("tasks/<int:pk>/numbers/", TaskNumberListView.as_view(screen=self, action="list"),
                 name="task_numbers"),
            path("tasks/<int:pk>/numbers/export/", TaskNumberExportView.as_view(screen=self),
                 name="task_numbers_export"),
            path("tasks/<int:pk>/numbers/<int:number_pk>/", TaskNumberDetailView.as_view(screen=self, action="list"),
                 name="task_number_detail"),
        ]


class _TaskMixin:
    """Resolves the task of the URL among those the user may open, and hands it to the screen
    through the request; the filters get it as `task` (so exports in the worker see it too)."""

    def bind_task(self, request, pk):
        self.task = get_object_or_404(selectors.visible_tasks(request.user).select_related("flow"), pk=pk)
        request.campaign_task = self.task
        params = request.GET.copy()
        params["task"] = str(self.task.pk)
        request.GET = params
        return self.task


class TaskNumberListView(_TaskMixin, ObjectListView):
    def get(self, request, pk):
        self.bind_task(request, pk)
        return super().get(request)

    def base_context(self, **extra):
        ctx = super().base_context(**extra)
        ctx.update(task=self.task, title=_("任务明细：%(name)s") % {"name": self.task.name},
                   progress=selectors.task_progress(self.task) if not self.request.htmx else None)
        return ctx


class TaskNumberExportView(_TaskMixin, ExportView):
    def get(self, request, pk):
        self.bind_task(request, pk)
        return super().get(request)


class TaskNumberDetailView(_TaskMixin, ScreenView):
    """One number of a task: every attempt (all rounds) with its call record and recording."""

    def get(self, request, pk, number_pk):
        task = self.bind_task(request, pk)
        number = get_object_or_404(TaskNumber.objects.select_related("customer", "agent"), task=task, pk=number_pk)
        attempts = list(Attempt.objects.filter(number=number).select_related("agent").order_by("round", "seq"))
        calls = selectors.calls_by_call_id(request.user, [a.call_id for a in attempts] + [number.call_id])
        rows = [(a, calls.get(a.call_id)) for a in attempts]
        return render(request, "campaigns/report_task_number.html", self.base_context(
            task=task, number=number, rows=rows, title=_("号码明细：%(phone)s") % {"phone": number.phone}))


# --- T8 坐席任务明细 ----------------------------------------------------------------------------------


class AgentTaskNumberScreen(Screen):
    """Numbers worked by agents in the viewer's data scope, newest call first."""

    model = TaskNumber
    model_name = "agenttasknumber"  # a second screen over TaskNumber: its own names and URLs
    section = "tasks"
    menu_order = 40
    menu_label = gettext_lazy("坐席任务明细")
    filterset_class = report_filtersets.AgentTaskNumberFilterSet
    table_class = report_tables.AgentTaskNumberTable
    actions = ("list", "export")
    sort_fields = {"last_attempt_at": "last_attempt_at"}  # (enterprise[, agent], last_attempt_at, id) indexes
    default_sort = "-last_attempt_at"
    select_related = ("task", "customer", "agent")
    export_columns = [
        (gettext_lazy("呼叫时间"), "last_attempt_at"), (gettext_lazy("坐席"), _agent_label),
        (gettext_lazy("任务"), "task.name"), (gettext_lazy("号码"), "phone"), (gettext_lazy("客户"), _customer_name),
        (gettext_lazy("结果"), "get_result_display"), (gettext_lazy("状态"), "get_status_display"),
        (gettext_lazy("呼叫次数"), "attempts"), (gettext_lazy("通话时长（秒）"), "talk_seconds"),
        (gettext_lazy("通话ID"), "call_id"),
    ]

    def perm(self, action: str) -> str:
        return super().perm(action).replace("_agenttasknumber", "_tasknumber")

    def queryset(self, request):
        # scoped() narrows by the agent who worked the number; numbers nobody worked are not here
        return super().queryset(request).filter(agent__isnull=False, last_attempt_at__isnull=False)

    def get_table_class(self, request):
        return _bound(self.table_class, request.user)

    def get_urls(self) -> list:
        return [
            path("agent-numbers/", ObjectListView.as_view(screen=self, action="list"), name="agenttasknumber_list"),
            path("agent-numbers/export/", ExportView.as_view(screen=self), name="agenttasknumber_export"),
            path("agent-numbers/columns/", ColumnsView.as_view(screen=self), name="agenttasknumber_columns"),
        ]


# --- T6 进度 -----------------------------------------------------------------------------------------


@login_required
@require_GET
def task_progress(request, pk: int):
    user = request.user
    if user.enterprise_id is None or not user.has_perm("campaigns.view_task"):
        raise PermissionDenied(_("没有权限"))
    task = get_object_or_404(selectors.visible_tasks(user).select_related("flow", "category", "enterprise")
                             .prefetch_related("windows"), pk=pk)
    progress = selectors.task_progress(task)
    context = {"task": task, "progress": progress, "chart": progress.chart(),
               "title": _("任务进度：%(name)s") % {"name": task.name},
               "can_numbers": user.has_perm("campaigns.view_tasknumber")}
    template = "campaigns/_report_progress.html" if request.htmx else "campaigns/report_progress.html"
    return render(request, template, context)


task_number_screen = register(TaskNumberScreen)
agent_task_number_screen = register(AgentTaskNumberScreen)
