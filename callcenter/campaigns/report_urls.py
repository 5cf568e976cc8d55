"""Pages over a task's results: detail (明细), progress (进度), agent task detail (坐席任务明细).
Included by campaigns/urls.py under the `campaigns` namespace."""

from django.urls import path

from callcenter.campaigns import reports

urlpatterns: list = [
    *reports.task_number_screen.get_urls(),
    path("tasks/<int:pk>/progress/", reports.task_progress, name="task_progress"),
    *reports.agent_task_number_screen.get_urls(),
]
