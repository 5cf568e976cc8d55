"""API resources: agents, departments, caller-ids, roles, login-logs, enterprise, sso-links."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from callcenter.accounts import filtersets, services, sso
from callcenter.accounts.models import Agent, CallerId, Department, LoginLog, Role
from callcenter.accounts.selectors import assignable_permissions
from callcenter.core.api import TenantSerializer, TenantViewSet
from callcenter.core.models import Enterprise


class AgentSerializer(TenantSerializer):
    class Meta:
        model = Agent
        fields = ["id", "number", "name", "phone", "record_calls", "failover_to_mobile", "supervisor",
                  "outbound_trunk", "login_mode", "caller_id", "max_locked_customers", "lock_days", "department",
                  "agent_type", "role", "data_scope", "remark1", "remark2", "remark3", "remark4", "screen_pop_url",
                  "created_at"]
        read_only_fields = ["created_at"]


class AgentCreateSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="first agent number (3-4 digits)")
    end = serializers.CharField(required=False, allow_blank=True, help_text="last agent number of a range")
    name = serializers.CharField(required=False, allow_blank=True)
    password = serializers.CharField(required=False, allow_blank=True, write_only=True, min_length=6)


class AgentViewSet(TenantViewSet):
    queryset = Agent.objects.select_related("department", "supervisor", "caller_id", "role")
    serializer_class = AgentSerializer
    filterset_class = filtersets.AgentFilterSet
    sort_field = "number"

    @extend_schema(request=AgentCreateSerializer, responses={201: inline_serializer("AgentsCreated", {
        "agents": AgentSerializer(many=True), "passwords": serializers.DictField(child=serializers.CharField())})})
    def create(self, request, *args, **kwargs):
        data = AgentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.agents_create_range(enterprise=request.user.enterprise, start=v["start"],
                                              end=v.get("end") or None, defaults={"name": v.get("name", "")},
                                              password=v.get("password") or None, actor=request.user)
        return Response({"agents": AgentSerializer(result.agents, many=True, context={"request": request}).data,
                         "passwords": result.passwords}, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        changes.pop("number", None)
        services.agent_update(agent=serializer.instance, changes=changes, actor=self.request.user)

    def perform_destroy(self, instance):
        if instance.pk == self.request.user.pk:
            services.refuse("agent", "不能删除自己")
        services.agent_delete(agent=instance)

    @extend_schema(request=None, responses={
        200: inline_serializer("PasswordReset", {"password": serializers.CharField()})})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        agent = self.get_object()
        return Response({"password": services.agent_reset_password(agent=agent)})

    required_verbs = {"reset_password": "reset_password"}


class DepartmentSerializer(TenantSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "parent", "remark"]

    def validate(self, attrs):
        instance = self.instance or Department()
        services.department_check_parent(instance, attrs.get("parent"))
        # The same rule as the UI form (the database cannot enforce it for top-level departments).
        name = attrs.get("name", instance.name)
        parent = attrs.get("parent", instance.parent)
        enterprise_id = self.context["request"].user.enterprise_id
        if Department.objects.filter(enterprise_id=enterprise_id, parent=parent, name=name).exclude(
                pk=instance.pk).exists():
            raise serializers.ValidationError({"name": [_("同一上级部门下已有同名部门")]})
        return attrs


class DepartmentViewSet(TenantViewSet):
    queryset = Department.objects.all()
    serializer_class = DepartmentSerializer
    filterset_class = filtersets.DepartmentFilterSet
    sort_field = "name"

    def perform_destroy(self, instance):
        refusal = services.department_delete_refusal(instance)
        if refusal:
            services.refuse("department", refusal)
        super().perform_destroy(instance)


class CallerIdSerializer(TenantSerializer):
    end = serializers.CharField(write_only=True, required=False, allow_blank=True)

    class Meta:
        model = CallerId
        fields = ["id", "number", "end", "created_at"]
        read_only_fields = ["created_at"]


class CallerIdViewSet(TenantViewSet):
    queryset = CallerId.objects.all()
    serializer_class = CallerIdSerializer
    filterset_class = filtersets.CallerIdFilterSet
    sort_field = "number"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def create(self, request, *args, **kwargs):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        try:
            created = services.caller_ids_add(enterprise=request.user.enterprise, start=ser.validated_data["number"],
                                              end=ser.validated_data.get("end") or None)
        except services.ServiceError as exc:
            # The service names the UI form's "start"; here that field is "number".
            raise serializers.ValidationError(
                {"number" if key == "start" else key: msgs for key, msgs in exc.message_dict.items()})
        return Response(CallerIdSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.caller_id_delete(caller_id=instance)

    @extend_schema(request=None, responses={
        200: inline_serializer("DefaultSet", {"agents": serializers.IntegerField()})})
    @action(detail=True, methods=["post"], url_path="set-default")
    def set_default(self, request, pk=None):
        return Response({"agents": services.caller_id_set_default(caller_id=self.get_object())})

    required_verbs = {"set_default": "change"}


@extend_schema_field(OpenApiTypes.STR)
class PermissionField(serializers.RelatedField):
    """A permission as `<app>.<codename>`; only those a role may hold are accepted."""

    def get_queryset(self):
        return assignable_permissions()

    def to_representation(self, value):
        return f"{value.content_type.app_label}.{value.codename}"

    def to_internal_value(self, data):
        app, _sep, codename = str(data).partition(".")
        perm = self.get_queryset().filter(content_type__app_label=app, codename=codename).first()
        if perm is None:
            raise serializers.ValidationError(_("未知的权限：%(p)s") % {"p": data})
        return perm


class RoleSerializer(TenantSerializer):
    permissions = PermissionField(many=True, required=False,
                                  help_text="permissions as <app>.<codename>, e.g. accounts.view_agent")

    class Meta:
        model = Role
        fields = ["id", "name", "description", "permissions"]

    def validate_name(self, name):
        enterprise_id = self.context["request"].user.enterprise_id
        others = Role.objects.filter(enterprise_id=enterprise_id, name=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("已有同名角色"))
        return name


class RoleViewSet(TenantViewSet):
    queryset = Role.objects.prefetch_related("permissions__content_type")
    serializer_class = RoleSerializer
    sort_field = "name"
    filterset_class = filtersets.RoleFilterSet

    def perform_destroy(self, instance):
        if instance.agents.exists():
            services.refuse("role", "还有坐席使用该角色")
        super().perform_destroy(instance)


class LoginLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoginLog
        fields = ["id", "agent", "number", "at", "ip", "user_agent", "channel", "result"]


class LoginLogViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = LoginLog.objects.all()
    serializer_class = LoginLogSerializer
    filterset_class = filtersets.LoginLogFilterSet
    sort_field = "at"
    sort_descending = True

    def get_queryset(self):
        from callcenter.core.scope import scoped

        return scoped(super().get_queryset(), self.request.user)


class EnterpriseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enterprise
        fields = ["code", "name", "time_zone", "licensed_lines", "announcements_need_approval", "dialer_cps_limit",
                  "screen_pop_url"]
        read_only_fields = ["code", "licensed_lines"]


class EnterpriseView(APIView):
    """The caller's enterprise (singleton). Licensed lines are set by the platform operator only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=EnterpriseSerializer)
    def get(self, request):
        if request.user.enterprise_id is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response(EnterpriseSerializer(request.user.enterprise).data)

    @extend_schema(request=EnterpriseSerializer, responses=EnterpriseSerializer)
    def patch(self, request):
        if request.user.enterprise_id is None or not request.user.has_perm("core.change_enterprise_settings"):
            return Response({"detail": "没有权限"}, status=status.HTTP_403_FORBIDDEN)
        ser = EnterpriseSerializer(request.user.enterprise, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        services.enterprise_update(enterprise=request.user.enterprise, changes=ser.validated_data)
        return Response(EnterpriseSerializer(request.user.enterprise).data)


class SsoLinkView(APIView):
    """L1: the agent client asks for a signed one-time link (valid 60 s) into the web back office."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: inline_serializer("SsoLink", {
        "url": serializers.URLField(), "expires_in": serializers.IntegerField()})})
    def post(self, request):
        if request.user.enterprise_id is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        path, seconds = sso.issue(request.user)
        return Response({"url": request.build_absolute_uri(path), "expires_in": seconds}, status=201)


def register(router) -> None:
    router.register("agents", AgentViewSet, basename="agent")
    router.register("departments", DepartmentViewSet, basename="department")
    router.register("caller-ids", CallerIdViewSet, basename="caller-id")
    router.register("roles", RoleViewSet, basename="role")
    router.register("login-logs", LoginLogViewSet, basename="login-log")

