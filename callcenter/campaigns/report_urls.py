"""Pages over a task's results: detail (明细), progress (进度), agent task detail (坐席任务明细).
Included by campaigns/urls.py under the `campaigns` namespace."""

urlpatterns: list = []
