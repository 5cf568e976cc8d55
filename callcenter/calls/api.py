"""API resources (read-only; call control writes through services.py): cdrs, recordings,
missed-calls, channels (live channels, S6) and agent-states (T10)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from callcenter.calls import filtersets
from callcenter.calls.choices import cause_label
from callcenter.calls.models import AgentState, Cdr, LiveChannel, MissedCall, Recording
from callcenter.core.scope import scoped


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    """Confined to the caller's enterprise and data scope; keyset-paginated."""

    sort_field = "id"
    sort_descending = True

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)


class CdrSerializer(serializers.ModelSerializer):
    agent_label = serializers.CharField(read_only=True)
    cause_display = serializers.SerializerMethodField()
    recording_url = serializers.SerializerMethodField()

    class Meta:
        model = Cdr
        fields = ["id", "call_id", "direction", "caller", "callee", "did", "trunk", "agent", "agent_number",
                  "agent_label", "group_name", "queue_name", "flow", "started_at", "answered_at", "ended_at",
                  "ring_seconds", "talk_seconds", "cause", "cause_text", "cause_display", "last_key", "outcome",
                  "task_id", "attempt_id", "recording", "recording_url"]

    def get_cause_display(self, obj) -> str:
        return cause_label(obj.cause)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recording_url(self, obj):
        if obj.recording_id is None:
            return None
        path = reverse("calls:cdr_recording", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class CdrViewSet(ScopedReadOnlyViewSet):
    queryset = Cdr.objects.select_related("agent")
    serializer_class = CdrSerializer
    filterset_class = filtersets.CdrFilterSet
    sort_field = "started_at"


class RecordingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Recording
        fields = ["id", "call_id", "agent", "file", "url", "duration_seconds", "created_at"]


class RecordingViewSet(ScopedReadOnlyViewSet):
    queryset = Recording.objects.all()
    serializer_class = RecordingSerializer
    filterset_class = filtersets.RecordingFilterSet
    sort_field = "created_at"


class MissedCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = MissedCall
        fields = ["id", "call_id", "caller", "at", "rang_agent", "group_name", "queue_name", "seen"]


class MissedCallViewSet(ScopedReadOnlyViewSet):
    queryset = MissedCall.objects.all()
    serializer_class = MissedCallSerializer
    filterset_class = filtersets.MissedCallFilterSet
    sort_field = "at"


class LiveChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = LiveChannel
        fields = ["id", "channel_id", "name", "kind", "state", "caller", "callee", "agent", "queue_name",
                  "started_at", "updated_at"]


class LiveChannelViewSet(ScopedReadOnlyViewSet):
    queryset = LiveChannel.objects.all()
    serializer_class = LiveChannelSerializer
    filterset_class = filtersets.LiveChannelFilterSet
    sort_field = "started_at"
    sort_descending = False


class AgentStateSerializer(serializers.ModelSerializer):
    agent_number = serializers.CharField(source="agent.number", read_only=True)
    agent_name = serializers.CharField(source="agent.name", read_only=True)

    class Meta:
        model = AgentState
        fields = ["id", "agent", "agent_number", "agent_name", "state", "since", "call_id"]


class AgentStateViewSet(ScopedReadOnlyViewSet):
    queryset = AgentState.objects.select_related("agent")
    serializer_class = AgentStateSerializer
    filterset_class = filtersets.AgentStateFilterSet
    sort_descending = False


def register(router) -> None:
    router.register("cdrs", CdrViewSet, basename="cdr")
    router.register("recordings", RecordingViewSet, basename="recording")
    router.register("missed-calls", MissedCallViewSet, basename="missed-call")
    router.register("channels", LiveChannelViewSet, basename="channel")
    router.register("agent-states", AgentStateViewSet, basename="agent-state")
