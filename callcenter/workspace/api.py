"""API of the agent workspace, for an agent client: current call, screen-pop data, set state;
and the `follow-ups` resource (list, retrieve, create; scoped like the 跟踪记录 list)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from callcenter.core.api import TenantSerializer
from callcenter.core.scope import scoped
from callcenter.crm.models import Customer
from callcenter.workspace import filtersets, selectors, services
from callcenter.workspace.choices import AgentChoice
from callcenter.workspace.models import FollowUp


class UsesWorkspace(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.enterprise_id is not None
                    and user.has_perm("workspace.use_workspace"))


CurrentCallSerializer = inline_serializer("WorkspaceCurrentCall", {
    "state": serializers.CharField(), "since": serializers.DateTimeField(allow_null=True),
    "call_id": serializers.CharField(), "phone": serializers.CharField(), "direction": serializers.CharField(),
    "bridged": serializers.BooleanField()})


class CurrentCallView(APIView):
    permission_classes = [UsesWorkspace]

    @extend_schema(responses=CurrentCallSerializer, operation_id="workspace_current_call")
    def get(self, request):
        return Response(selectors.current_call(request.user).as_dict())


class ScreenPopView(APIView):
    permission_classes = [UsesWorkspace]

    @extend_schema(parameters=[OpenApiParameter("phone", str, required=True),
                               OpenApiParameter("call_id", str, required=False)],
                   responses=inline_serializer("WorkspaceScreenPop", {
                       "phone": serializers.CharField(), "unknown": serializers.BooleanField(),
                       "customer": serializers.DictField(allow_null=True),
                       "fields": serializers.ListField(child=serializers.DictField()),
                       "third_party": serializers.DictField(),
                       "history": serializers.ListField(child=serializers.DictField()),
                       "followups": serializers.ListField(child=serializers.DictField()),
                       "third_party_url": serializers.CharField(allow_null=True)}),
                   operation_id="workspace_screen_pop")
    def get(self, request):
        pop = selectors.screen_pop(request.user, request.query_params.get("phone", ""),
                                   call_id=request.query_params.get("call_id", ""))
        return Response(pop.as_dict())


class StateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=AgentChoice.choices)
    reason = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class StateView(APIView):
    permission_classes = [UsesWorkspace]

    @extend_schema(request=StateSerializer, responses=CurrentCallSerializer, operation_id="workspace_set_state")
    def post(self, request):
        s = StateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.agent_set_state(agent=request.user, state=s.validated_data["state"],
                                 reason=s.validated_data["reason"])
        return Response(selectors.current_call(request.user).as_dict())


class TaskNextSerializer(serializers.Serializer):
    task = serializers.IntegerField(help_text="a draft or paused task of the agent's enterprise")


class TaskNextView(APIView):
    """【下一个号码】 (T2 manual batch dialling): the task's next number is dialled through the agent's
    own phone (campaigns/manual.py); the call then shows in current-call."""

    permission_classes = [UsesWorkspace]

    @extend_schema(request=TaskNextSerializer, operation_id="workspace_task_next",
                   responses=inline_serializer("WorkspaceTaskNext", {
                       "attempt": serializers.IntegerField(), "task": serializers.IntegerField(),
                       "phone": serializers.CharField()}))
    def post(self, request):
        from callcenter.campaigns import manual

        s = TaskNextSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        attempt = manual.next_number(agent=request.user, task_id=s.validated_data["task"])
        return Response({"attempt": attempt.pk, "task": attempt.task_id, "phone": attempt.number.phone})


class FollowUpSerializer(TenantSerializer):
    class Meta:
        model = FollowUp
        fields = ["id", "customer", "phone", "agent", "call_id", "text", "next_contact_at", "result", "created_at"]
        read_only_fields = ["agent", "created_at"]


class FollowUpPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.enterprise_id is not None):
            return False
        verb = "add" if view.action == "create" else "view"
        return user.has_perm(f"workspace.{verb}_followup")


class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    queryset = FollowUp.objects.select_related("agent", "customer")
    serializer_class = FollowUpSerializer
    filterset_class = filtersets.FollowUpFilterSet
    permission_classes = [FollowUpPermission]
    sort_field = "created_at"
    sort_descending = True

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    def perform_create(self, serializer):
        v = serializer.validated_data
        customer = v.get("customer")
        if customer is not None:
            customer = scoped(Customer.objects.all(), self.request.user).filter(pk=customer.pk).first()
            if customer is None:
                raise serializers.ValidationError({"customer": ["客户不存在"]})
        try:
            serializer.instance = services.followup_create(
                agent=self.request.user, phone=v["phone"], text=v["text"], result=v.get("result", "pending"),
                next_contact_at=v.get("next_contact_at"), customer=customer, call_id=v.get("call_id", ""))
        except ValidationError as exc:
            if "锁定" in "".join(exc.messages):
                raise PermissionDenied("；".join(exc.messages)) from None
            raise


def register(router) -> None:
    router.register("follow-ups", FollowUpViewSet, basename="follow-up")


urlpatterns = [
    path("v1/workspace/current-call/", CurrentCallView.as_view(), name="api-workspace-current-call"),
    path("v1/workspace/screen-pop/", ScreenPopView.as_view(), name="api-workspace-screen-pop"),
    path("v1/workspace/state/", StateView.as_view(), name="api-workspace-state"),
    path("v1/workspace/task-next/", TaskNextView.as_view(), name="api-workspace-task-next"),
]
