"""REST resource `tasks` with its actions (任务发送 / 任务查询): create a task from a number list or an
uploaded file, list and filter tasks, change the name and start time (PATCH), and the actions
submit, pause, resume, end, resend and windows, plus `dropped` (the lines intake dropped).
Same filterset, services and refusals as the screens: a state that does not fit is 409 with
the reason, bad input is 400 with a message per field."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from callcenter.campaigns import filtersets, intake, services
from callcenter.campaigns.choices import ResendRule
from callcenter.campaigns.models import Task, TaskDrop
from callcenter.core.api import TenantSerializer, TenantViewSet
from callcenter.core.context import client_ip
from callcenter.crm.models import CustomerCategory
from callcenter.telephony.models import CallFlow


class WindowSerializer(serializers.Serializer):
    start = serializers.TimeField(format="%H:%M")
    end = serializers.TimeField(format="%H:%M")


class TaskSerializer(TenantSerializer):
    windows = serializers.SerializerMethodField()
    draft = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = ["id", "name", "flow", "category", "start_at", "windows", "dedupe", "recall_called_today",
                  "skip_existing_customers", "status", "draft", "submitted", "round", "source_name", "numbers_total",
                  "intake", "job", "created_by", "created_at", "started_at", "ended_at", "end_reason"]
        read_only_fields = [f for f in fields if f not in ("name", "start_at")]

    @extend_schema(responses=WindowSerializer(many=True))
    def get_windows(self, obj) -> list[dict]:
        return [{"start": f"{w.start:%H:%M}", "end": f"{w.end:%H:%M}"} for w in obj.windows.all()]

    def get_draft(self, obj) -> bool:
        return obj.is_draft and obj.status == "paused"


class TaskCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    flow = serializers.PrimaryKeyRelatedField(queryset=CallFlow.objects.all())
    category = serializers.PrimaryKeyRelatedField(queryset=CustomerCategory.objects.all())
    start_at = serializers.DateTimeField(required=False, allow_null=True)
    windows = WindowSerializer(many=True, required=False)
    dedupe = serializers.BooleanField(default=True)
    recall_called_today = serializers.BooleanField(default=False)
    skip_existing_customers = serializers.BooleanField(default=False)
    numbers = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                    required=False, help_text="one number per item")
    numbers_text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                         help_text="one number per line")
    file = serializers.FileField(required=False, help_text="a text file, one number per line (wins over the lists)")
    submit = serializers.BooleanField(default=False, help_text="false: save as a draft (保存草稿)")

    def get_fields(self):
        fields = super().get_fields()
        enterprise_id = getattr(self.context["request"].user, "enterprise_id", None)
        fields["flow"].queryset = CallFlow.objects.filter(enterprise_id=enterprise_id)
        fields["category"].queryset = CustomerCategory.objects.filter(enterprise_id=enterprise_id)
        return fields


class TaskDropSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaskDrop
        fields = ["id", "line_no", "raw", "phone", "reason"]


def _conflict_or_raise(exc: ValidationError):
    """A refusal because of the task's state is 409; any other is bad input (400)."""
    if hasattr(exc, "error_dict") and "status" in exc.message_dict:
        return Response(exc.message_dict, status=status.HTTP_409_CONFLICT)
    raise exc


class TaskViewSet(TenantViewSet):
    queryset = Task.objects.select_related("flow", "category", "created_by").prefetch_related("windows")
    serializer_class = TaskSerializer
    filterset_class = filtersets.TaskFilterSet
    sort_field = "id"
    sort_descending = True
    http_method_names = ["get", "post", "patch", "head", "options"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    required_verbs = {"submit": "send", "resend": "send", "pause": "control", "resume": "control", "end": "control",
                      "windows": "change", "dropped": "view"}

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskSerializer, 202: TaskSerializer})
    def create(self, request, *args, **kwargs):
        """A task and its intake. 201 when the numbers are in; 202 when the worker takes a large
        input in (status `importing`: poll the task)."""
        data = TaskCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["submit"] and not request.user.has_perm("campaigns.send_task"):
            raise PermissionDenied(_("没有提交发送任务的权限"))
        text = values.get("numbers_text") or ""
        if values.get("file") is not None:
            upload = values["file"]
            limit = intake.max_file_bytes()
            if upload.size > limit:
                raise serializers.ValidationError({"file": [_("号码文件超过 %(size)s MB 的上限") % {
                    "size": f"{limit / (1024 * 1024):g}"}]})
            source = intake.read_file(upload.read(), upload.name, field_name="file")
            source.ignored_list = bool(text.strip() or values.get("numbers"))
        elif values.get("numbers"):
            source = intake.read_text("\n".join(values["numbers"]), field_name="numbers")
        elif text.strip():
            source = intake.read_text(text, field_name="numbers_text")
        else:
            raise serializers.ValidationError({"numbers": [_("请提供号码：numbers、numbers_text 或 file")]})
        created = services.task_create(
            enterprise=request.user.enterprise, user=request.user, source=source, submit=values["submit"],
            ip=client_ip(request),
            values={k: values.get(k) for k in ("name", "flow", "category", "start_at", "dedupe",
                                                 "recall_called_today", "skip_existing_customers")}
            | {"windows": [(w["start"], w["end"]) for w in values.get("windows") or []]})
        task = self.get_queryset().get(pk=created.task.pk)
        return Response(TaskSerializer(task, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED if created.in_worker else status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        """【修改】: `name` and/or `start_at` (null: start now)."""
        task = self.get_object()
        unknown = set(request.data) - {"name", "start_at"}
        if unknown:
            raise serializers.ValidationError({k: [_("不能修改此字段")] for k in sorted(unknown)})
        field = serializers.DateTimeField(allow_null=True)
        kwargs = {}
        if "name" in request.data:
            kwargs["name"] = str(request.data["name"] or "")
        if "start_at" in request.data:
            try:
                kwargs["start_at"] = field.run_validation(request.data["start_at"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"start_at": exc.detail}) from None
        try:
            services.task_modify(task=task, **kwargs)
        except ValidationError as exc:
            return _conflict_or_raise(exc)
        return Response(self.get_serializer(self.get_queryset().get(pk=task.pk)).data)

    def _act(self, request, op, **kwargs):
        task = self.get_object()
        try:
            result = op(task=task, **kwargs)
        except ValidationError as exc:
            return _conflict_or_raise(exc)
        extra = {}
        if isinstance(result, tuple):
            extra["numbers"] = result[1]
        data = self.get_serializer(self.get_queryset().get(pk=task.pk)).data
        return Response({**data, **extra})

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """【提交发送】 a draft."""
        return self._act(request, services.task_submit)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """【暂停发送】."""
        return self._act(request, services.task_pause)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """【恢复发送】; resuming a draft submits it (needs the send permission too)."""
        task = self.get_object()
        if not task.submitted and not request.user.has_perm("campaigns.send_task"):
            raise PermissionDenied(_("没有提交发送任务的权限"))
        return self._act(request, services.task_resume)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """【手工结束】: `numbers` in the answer is how many were cancelled."""
        return self._act(request, services.task_end)

    @extend_schema(request=inline_serializer("TaskResend", {
        "rules": serializers.ListField(child=serializers.ChoiceField(choices=ResendRule.choices))}),
        responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        """【重新发送】 an ended task's numbers chosen by result: {"rules": ["unanswered", "failed",
        "not_transferred"]}; `numbers` in the answer is how many are dialled again."""
        rules = request.data.get("rules") if hasattr(request.data, "get") else None
        if hasattr(request.data, "getlist"):
            rules = request.data.getlist("rules")
        if not isinstance(rules, list):
            raise serializers.ValidationError({"rules": [_("须为列表")]})
        return self._act(request, services.task_resend, rules=[str(r) for r in rules])

    @extend_schema(request=inline_serializer("TaskWindows", {"windows": WindowSerializer(many=True)}),
                   responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def windows(self, request, pk=None):
        """【时间段】: replace the windows, {"windows": [{"start": "09:00", "end": "12:00"}]}; [] = all day."""
        windows = request.data.get("windows") if hasattr(request.data, "get") else None
        if not isinstance(windows, list) or not all(isinstance(w, dict) for w in windows):
            example = '[{"start": "09:00", "end": "12:00"}]'
            raise serializers.ValidationError({"windows": [_("须为列表：%(e)s") % {"e": example}]})
        return self._act(request, services.task_set_windows, windows=windows)

    @extend_schema(request=None, responses=TaskDropSerializer(many=True))
    @action(detail=True, methods=["get"])
    def dropped(self, request, pk=None):
        """The lines the intake dropped, with their line number and reason (keyset pages)."""
        task = self.get_object()
        qs = TaskDrop.objects.filter(task=task)
        self.sort_field, self.sort_descending = "id", False
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(TaskDropSerializer(page, many=True).data)


def register(router) -> None:
    from callcenter.campaigns import report_api

    router.register("tasks", TaskViewSet, basename="task")
    report_api.register(router)
