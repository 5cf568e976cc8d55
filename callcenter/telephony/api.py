"""API resources of call configuration: prompts, agent-groups, call-flows, trunks, did-routes, queues,
ivr-menus, schedules, routes, blacklist. Writes go through services.py, as in the UI."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from callcenter.accounts.models import Agent
from callcenter.core.api import TenantSerializer, TenantViewSet
from callcenter.telephony import audio, filtersets, services
from callcenter.telephony.choices import PromptKind
from callcenter.telephony.models import (
    AgentGroup,
    BlacklistEntry,
    CallFlow,
    DidRoute,
    IvrKey,
    IvrMenu,
    Prompt,
    Queue,
    Route,
    Schedule,
    ScheduleSlot,
    Trunk,
)


class ServiceViewSet(TenantViewSet):
    """Create, update and delete through the app's services (rules, audit), not serializer.save()."""

    def create_object(self, data: dict):
        raise NotImplementedError

    def update_object(self, instance, data: dict):
        raise NotImplementedError

    def delete_object(self, instance) -> None:
        raise NotImplementedError

    def perform_create(self, serializer):
        serializer.instance = self.create_object(dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = self.update_object(serializer.instance, dict(serializer.validated_data))

    def perform_destroy(self, instance):
        self.delete_object(instance)


def _agents(enterprise_id):
    return Agent.objects.filter(enterprise_id=enterprise_id)


# --- prompts ---------------------------------------------------------------------------------------


class PromptSerializer(TenantSerializer):
    file = serializers.FileField(write_only=True, required=False,
                                 help_text="WAV PCM 8 kHz 16-bit mono, or raw PCM (.pcm/.sln); at most 10 MB")
    convert = serializers.BooleanField(write_only=True, required=False, default=False,
                                       help_text="convert another format (MP3, FLAC, OGG, WAV) to 8 kHz 16-bit mono")
    audio_url = serializers.SerializerMethodField()

    class Meta:
        model = Prompt
        fields = ["id", "name", "kind", "remark", "duration_ms", "size", "created_at", "audio_url", "file", "convert"]
        read_only_fields = ["duration_ms", "size", "created_at"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_audio_url(self, obj) -> str:
        request = self.context.get("request")
        path = f"/api/v1/prompts/{obj.pk}/audio/"
        return request.build_absolute_uri(path) if request else path


class PromptViewSet(ServiceViewSet):
    queryset = Prompt.objects.all()
    serializer_class = PromptSerializer
    filterset_class = filtersets.PromptFilterSet
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    sort_field = "name"

    def create(self, request, *args, **kwargs):
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": [_("请选择语音文件")]})
        if upload.size > audio.MAX_BYTES:  # refused before the file is read
            try:
                audio.check_size(upload.size)
            except audio.AudioRejected as exc:
                raise serializers.ValidationError({"file": [exc.message]})
        return super().create(request, *args, **kwargs)

    def create_object(self, data):
        upload = data["file"]
        try:
            return services.prompt_create(
                enterprise=self.request.user.enterprise, name=data["name"], kind=data.get("kind", PromptKind.PROMPT),
                remark=data.get("remark", ""), data=upload.read(), filename=upload.name,
                convert=data.get("convert", False))
        except services.AudioRefused as exc:
            detail = {"file": exc.messages}
            if exc.convertible:
                detail["convert"] = [_("此文件可以转换：设置 convert=true 转换为 8kHz 16bit 单声道后保存")]
            raise serializers.ValidationError(detail)

    def update_object(self, instance, data):
        return services.prompt_update(prompt=instance, changes=data)

    def delete_object(self, instance):
        services.prompt_delete(prompt=instance)

    @extend_schema(responses={(200, "audio/wav"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def audio(self, request, pk=None):
        prompt = self.get_object()
        try:
            handle = prompt.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        return FileResponse(handle, content_type="audio/wav")


# --- agent groups ----------------------------------------------------------------------------------


class MembersSerializer(TenantSerializer):
    """`members`: the ordered list of agent ids (the answering order)."""

    members = serializers.PrimaryKeyRelatedField(many=True, queryset=Agent.objects.all(), required=False,
                                                 help_text="agent ids in answering order")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["members"] = [m.agent_id for m in instance.memberships.all()]
        return data


class AgentGroupSerializer(MembersSerializer):
    class Meta:
        model = AgentGroup
        fields = ["id", "name", "order_rule", "enabled", "remark", "members"]


class AgentGroupViewSet(ServiceViewSet):
    queryset = AgentGroup.objects.prefetch_related("memberships", "members")
    serializer_class = AgentGroupSerializer
    filterset_class = filtersets.AgentGroupFilterSet
    sort_field = "name"

    def create_object(self, data):
        members = data.pop("members", None)
        return services.group_create(enterprise=self.request.user.enterprise, values=data, members=members)

    def update_object(self, instance, data):
        members = data.pop("members", None)
        return services.group_update(group=instance, changes=data, members=members)

    def delete_object(self, instance):
        services.group_delete(group=instance)


# --- call flows ------------------------------------------------------------------------------------


class CallFlowSerializer(TenantSerializer):
    class Meta:
        model = CallFlow
        fields = ["id", "name", "caller_id", "prompt", "ringback", "transfer_mode", "play_seconds", "replay_key",
                  "transfer_key", "play_count", "agent_group", "dial_ratio", "extra_lines", "interval_seconds",
                  "retries", "retry_delay_seconds", "sms_enabled", "sms_min_seconds", "sms_text", "pause_after_hangup",
                  "remark"]


class CallFlowViewSet(ServiceViewSet):
    queryset = CallFlow.objects.all()
    serializer_class = CallFlowSerializer
    filterset_class = filtersets.CallFlowFilterSet
    sort_field = "name"

    def create_object(self, data):
        return services.callflow_create(enterprise=self.request.user.enterprise, values=data)

    def update_object(self, instance, data):
        return services.callflow_update(flow=instance, changes=data)

    def delete_object(self, instance):
        services.callflow_delete(flow=instance)


# --- trunks and DID routes -------------------------------------------------------------------------


class TrunkSerializer(TenantSerializer):
    server_password = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                            help_text="write-only; blank or absent keeps the stored password")
    has_server_password = serializers.SerializerMethodField()

    class Meta:
        model = Trunk
        fields = ["id", "account", "number", "prefix", "server_type", "server_ip", "server_account",
                  "server_password", "has_server_password", "concurrent_lines", "reserved_lines", "enabled", "remark"]
        read_only_fields = ["account"]

    def get_has_server_password(self, obj) -> bool:
        return bool(obj.server_password)


class TrunkViewSet(ServiceViewSet):
    queryset = Trunk.objects.all()
    serializer_class = TrunkSerializer
    filterset_class = filtersets.TrunkFilterSet
    sort_field = "number"

    def create_object(self, data):
        return services.trunk_create(enterprise=self.request.user.enterprise, values=data)

    def update_object(self, instance, data):
        return services.trunk_update(trunk=instance, changes=data)

    def delete_object(self, instance):
        services.trunk_delete(trunk=instance)


class DidRouteSerializer(TenantSerializer):
    class Meta:
        model = DidRoute
        fields = ["id", "trunk", "did", "schedule"]


class DidRouteViewSet(ServiceViewSet):
    queryset = DidRoute.objects.all()
    serializer_class = DidRouteSerializer
    filterset_class = filtersets.DidRouteFilterSet
    sort_field = "did"

    def create_object(self, data):
        return services.did_create(trunk=data["trunk"], did=data["did"], schedule=data["schedule"])

    def update_object(self, instance, data):
        return services.did_update(route=instance, changes=data)

    def delete_object(self, instance):
        services.did_delete(route=instance)


# --- queues ----------------------------------------------------------------------------------------


class QueueSerializer(MembersSerializer):
    class Meta:
        model = Queue
        fields = ["id", "name", "extension", "strategy", "music", "ring_seconds", "retry_seconds", "announce",
                  "announce_frequency", "max_wait_seconds", "before_number_prompt", "announce_agent_number",
                  "after_number_prompt", "enabled", "overflow_to_mobile", "members"]


class QueueViewSet(ServiceViewSet):
    queryset = Queue.objects.prefetch_related("memberships", "members")
    serializer_class = QueueSerializer
    filterset_class = filtersets.QueueFilterSet
    sort_field = "name"

    def create_object(self, data):
        members = data.pop("members", None)
        return services.queue_create(enterprise=self.request.user.enterprise, values=data, members=members)

    def update_object(self, instance, data):
        members = data.pop("members", None)
        return services.queue_update(queue=instance, changes=data, members=members)

    def delete_object(self, instance):
        services.queue_delete(queue=instance)


# --- routes ----------------------------------------------------------------------------------------


class RouteSerializer(TenantSerializer):
    class Meta:
        model = Route
        fields = ["id", "kind", "name", "priority", "numbers", "customer_category", "province", "city",
                  "destination_kind", "destination", "enabled"]


class RouteViewSet(ServiceViewSet):
    queryset = Route.objects.all()
    serializer_class = RouteSerializer
    filterset_class = filtersets.RouteFilterSet
    sort_field = "priority"

    def create_object(self, data):
        kind = data.pop("kind")
        return services.route_create(enterprise=self.request.user.enterprise, kind=kind, values=data)

    def update_object(self, instance, data):
        return services.route_update(route=instance, changes=data)

    def delete_object(self, instance):
        services.route_delete(route=instance)


# --- IVR menus -------------------------------------------------------------------------------------


class IvrKeySerializer(TenantSerializer):
    key = serializers.RegexField(r"^[0-9*#]$", max_length=1, help_text="0-9, * or #")

    class Meta:
        model = IvrKey
        fields = ["key", "action", "extension", "prompt"]
        validators: list = []


class IvrMenuSerializer(TenantSerializer):
    keys = IvrKeySerializer(many=True, required=False)

    class Meta:
        model = IvrMenu
        fields = ["id", "name", "prompt", "default_extensions", "default_order", "ring_wait_seconds", "to_last_agent",
                  "direct_dial", "remark", "keys"]


class IvrMenuViewSet(ServiceViewSet):
    queryset = IvrMenu.objects.prefetch_related("keys")
    serializer_class = IvrMenuSerializer
    filterset_class = filtersets.IvrMenuFilterSet
    sort_field = "name"

    def create_object(self, data):
        keys = data.pop("keys", None)
        return services.ivr_create(enterprise=self.request.user.enterprise, values=data,
                                   keys=[dict(k) for k in keys] if keys else None)

    def update_object(self, instance, data):
        keys = data.pop("keys", None)
        return services.ivr_update(menu=instance, changes=data,
                                   keys=[dict(k) for k in keys] if keys is not None else None)

    def delete_object(self, instance):
        services.ivr_delete(menu=instance)


# --- schedules -------------------------------------------------------------------------------------


@extend_schema_field({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}})
class WeekdaysField(serializers.Field):
    """1 is Monday, 7 is Sunday."""

    def to_representation(self, value):
        return sorted({int(d) for d in str(value).split(",") if d.strip().isdigit()})

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [d for d in data.split(",") if d.strip()]
        if not isinstance(data, list | tuple):
            raise serializers.ValidationError(_("请提供1到7的数字列表"))
        try:
            days = sorted({int(d) for d in data})
        except (TypeError, ValueError):
            raise serializers.ValidationError(_("请提供1到7的数字列表"))
        if not days or not set(days) <= set(range(1, 8)):
            raise serializers.ValidationError(_("请至少选择一天，星期只能是1到7"))
        return ",".join(str(d) for d in days)


class ScheduleSlotSerializer(TenantSerializer):
    class Meta:
        model = ScheduleSlot
        fields = ["start", "end", "menu"]


class ScheduleSerializer(TenantSerializer):
    weekdays = WeekdaysField(required=False)
    slots = ScheduleSlotSerializer(many=True, required=False)

    class Meta:
        model = Schedule
        fields = ["id", "name", "weekdays", "default_menu", "remark", "slots"]


class ScheduleViewSet(ServiceViewSet):
    queryset = Schedule.objects.prefetch_related("slots")
    serializer_class = ScheduleSerializer
    filterset_class = filtersets.ScheduleFilterSet
    sort_field = "name"

    def create_object(self, data):
        slots = data.pop("slots", None)
        return services.schedule_create(enterprise=self.request.user.enterprise, values=data,
                                        slots=[dict(s) for s in slots] if slots else None)

    def update_object(self, instance, data):
        slots = data.pop("slots", None)
        return services.schedule_update(schedule=instance, changes=data,
                                        slots=[dict(s) for s in slots] if slots is not None else None)

    def delete_object(self, instance):
        services.schedule_delete(schedule=instance)


# --- blacklist -------------------------------------------------------------------------------------


class BlacklistSerializer(TenantSerializer):
    number = serializers.CharField(max_length=30)

    class Meta:
        model = BlacklistEntry
        fields = ["id", "number", "direction", "remark", "created_at"]
        read_only_fields = ["created_at"]


class BlacklistViewSet(ServiceViewSet):
    queryset = BlacklistEntry.objects.all()
    serializer_class = BlacklistSerializer
    filterset_class = filtersets.BlacklistFilterSet
    sort_field = "created_at"
    sort_descending = True

    def create_object(self, data):
        return services.blacklist_add(enterprise=self.request.user.enterprise, **data)

    def update_object(self, instance, data):
        return services.blacklist_update(entry=instance, changes=data)

    def delete_object(self, instance):
        services.blacklist_delete(entry=instance)


def register(router) -> None:
    router.register("prompts", PromptViewSet)
    router.register("agent-groups", AgentGroupViewSet)
    router.register("call-flows", CallFlowViewSet)
    router.register("trunks", TrunkViewSet)
    router.register("did-routes", DidRouteViewSet)
    router.register("queues", QueueViewSet)
    router.register("ivr-menus", IvrMenuViewSet)
    router.register("schedules", ScheduleViewSet)
    router.register("routes", RouteViewSet)
    router.register("blacklist", BlacklistViewSet, basename="blacklist")

