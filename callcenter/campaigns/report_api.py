"""REST resources over a task's results: `tasks/{task_pk}/numbers` (T5 明细: each number's status
and result, filtered like the page, keyset pages) and `tasks/{task_pk}/progress` (T6 进度: the
figures of the progress page). The task must be one the caller may open (its enterprise and
data scope); another enterprise's task is 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from callcenter.campaigns import report_filtersets, selectors
from callcenter.campaigns.models import Task, TaskNumber

TASK_PK = OpenApiParameter("task_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="任务 id")


class TaskNumberSerializer(serializers.ModelSerializer):
    customer_name = serializers.SerializerMethodField()
    agent_label = serializers.SerializerMethodField()
    recording_url = serializers.SerializerMethodField()

    class Meta:
        model = TaskNumber
        fields = ["id", "task", "line_no", "phone", "customer", "customer_name", "status", "result", "attempts",
                  "next_attempt_at", "last_attempt_at", "agent", "agent_label", "talk_seconds", "call_id",
                  "recording_url"]

    def get_customer_name(self, obj) -> str:
        return obj.customer.name if obj.customer_id else ""

    def get_agent_label(self, obj) -> str:
        return str(obj.agent) if obj.agent_id else ""

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recording_url(self, obj):
        call = self.context.get("calls", {}).get(obj.call_id)
        if not call or not call["recording"]:
            return None
        path = reverse("calls:cdr_recording", args=[call["cdr"]])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def _task(view) -> Task:
    return get_object_or_404(selectors.visible_tasks(view.request.user), pk=view.kwargs["task_pk"])


@extend_schema_view(list=extend_schema(parameters=[TASK_PK]), retrieve=extend_schema(parameters=[TASK_PK]))
class TaskNumberViewSet(viewsets.ReadOnlyModelViewSet):
    """明细: the numbers of one task in file order."""

    queryset = TaskNumber.objects.select_related("customer", "agent")
    serializer_class = TaskNumberSerializer
    filterset_class = report_filtersets.TaskNumberFilterSet
    sort_field = "id"
    sort_descending = False

    def get_queryset(self):
        return super().get_queryset().filter(task=_task(self))

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        calls = selectors.calls_by_call_id(request.user, [n.call_id for n in page])
        data = self.get_serializer(page, many=True, context={**self.get_serializer_context(), "calls": calls}).data
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        number = self.get_object()
        calls = selectors.calls_by_call_id(request.user, [number.call_id])
        return Response(self.get_serializer(number, context={**self.get_serializer_context(), "calls": calls}).data)


class TimelineSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField())
    attempts = serializers.ListField(child=serializers.IntegerField())
    answered = serializers.ListField(child=serializers.IntegerField())


class ProgressSerializer(serializers.Serializer):
    task = serializers.IntegerField()
    status = serializers.CharField()
    submitted = serializers.BooleanField()
    round = serializers.IntegerField()
    live = serializers.BooleanField(help_text="the task may still dial: the page keeps refreshing")
    total = serializers.IntegerField()
    dialled = serializers.IntegerField()
    answered = serializers.IntegerField()
    transferred = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    remaining = serializers.IntegerField()
    percent_done = serializers.FloatField()
    attempts = serializers.IntegerField()
    lines_in_use = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    abandon_rate = serializers.FloatField(allow_null=True)
    talk_seconds = serializers.IntegerField()
    agents = serializers.IntegerField()
    talk_minutes_per_agent_hour = serializers.FloatField(allow_null=True)
    timeline = TimelineSerializer()
    at = serializers.DateTimeField()


class TaskProgressViewSet(viewsets.GenericViewSet):
    """进度: where the task's numbers stand and the dialer's watched figures (lines in use,
    abandon rate, talk minutes per agent-hour). Needs the permission to view tasks."""

    queryset = Task.objects.all()  # the permission checked is campaigns.view_task
    serializer_class = ProgressSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(parameters=[TASK_PK], responses=ProgressSerializer)
    def list(self, request, *args, **kwargs):
        task = _task(self)
        return Response(selectors.task_progress(task).as_dict())


def register(router) -> None:
    router.register(r"tasks/(?P<task_pk>[0-9]+)/numbers", TaskNumberViewSet, basename="task-number")
    router.register(r"tasks/(?P<task_pk>[0-9]+)/progress", TaskProgressViewSet, basename="task-progress")
