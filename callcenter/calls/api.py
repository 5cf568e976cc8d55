"""API resources: cdrs, recordings, missed-calls, channels (live channels, S6) and agent-states
(T10), read-only (call control writes them through services.py); quality-reviews (质检), which
users write through `services.quality_review_save`."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from callcenter.calls import filtersets, services
from callcenter.calls.choices import AgentStatus, cause_label
from callcenter.calls.models import AgentState, Cdr, LiveChannel, MissedCall, QualityReview, Recording
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
    review_score = serializers.SerializerMethodField()

    class Meta:
        model = Cdr
        fields = ["id", "call_id", "direction", "caller", "callee", "did", "trunk", "agent", "agent_number",
                  "agent_label", "group_name", "queue_name", "flow", "started_at", "answered_at", "ended_at",
                  "ring_seconds", "talk_seconds", "cause", "cause_text", "cause_display", "last_key", "outcome",
                  "task_id", "attempt_id", "recording", "recording_url", "review_score"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_review_score(self, obj):
        review = getattr(obj, "review", None)
        return review.score if review is not None else None

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
    queryset = Cdr.objects.select_related("agent", "review")
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
    seconds_in_state = serializers.SerializerMethodField()
    pause_reason = serializers.SerializerMethodField()

    class Meta:
        model = AgentState
        fields = ["id", "agent", "agent_number", "agent_name", "state", "since", "seconds_in_state", "pause_reason",
                  "call_id"]

    def get_seconds_in_state(self, obj) -> int:
        return max(0, int((timezone.now() - obj.since).total_seconds()))

    def get_pause_reason(self, obj) -> str:
        return (getattr(obj, "latest_pause_reason", None) or "") if obj.state == AgentStatus.PAUSED else ""


class AgentStateViewSet(ScopedReadOnlyViewSet):
    """坐席监控 (T10): each agent's live state, time in it, and why a paused agent paused."""

    queryset = AgentState.objects.select_related("agent")
    serializer_class = AgentStateSerializer
    filterset_class = filtersets.AgentStateFilterSet
    sort_descending = False

    def get_queryset(self):
        from callcenter.workspace.models import AgentStateChange

        reason = (AgentStateChange.objects
                  .filter(enterprise_id=OuterRef("enterprise_id"), agent_id=OuterRef("agent_id"),
                          state=AgentStatus.PAUSED)
                  .order_by("-at").values("reason")[:1])
        return super().get_queryset().annotate(latest_pause_reason=Subquery(reason))


class QualityReviewSerializer(serializers.ModelSerializer):
    cdr = serializers.PrimaryKeyRelatedField(queryset=Cdr.objects.none())
    score = serializers.IntegerField(min_value=0, max_value=100)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=services.COMMENT_MAX, default="")
    call_id = serializers.CharField(source="cdr.call_id", read_only=True)
    agent_label = serializers.CharField(source="cdr.agent_label", read_only=True)
    reviewer_label = serializers.SerializerMethodField()

    class Meta:
        model = QualityReview
        fields = ["id", "cdr", "call_id", "agent", "agent_label", "score", "comment", "reviewer", "reviewer_label",
                  "reviewed_at"]
        read_only_fields = ["agent", "reviewer", "reviewed_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # only calls the caller may see can be scored; another enterprise's call is "not found"
            fields["cdr"].queryset = scoped(Cdr.objects.all(), request.user)
        return fields

    def get_reviewer_label(self, obj) -> str:
        return str(obj.reviewer) if obj.reviewer_id and obj.reviewer is not None else ""


class QualityReviewViewSet(viewsets.ModelViewSet):
    """质检: list and read the reviews in scope; POST scores a call (again: replaces its review);
    PATCH/PUT change the score or comment; DELETE removes a review."""

    queryset = QualityReview.objects.select_related("cdr", "cdr__agent", "reviewer")
    serializer_class = QualityReviewSerializer
    filterset_class = filtersets.QualityReviewFilterSet
    sort_field = "reviewed_at"
    sort_descending = True
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    def _save(self, cdr, data, *, status_code):
        review = services.quality_review_save(cdr=cdr, reviewer=self.request.user, score=data["score"],
                                              comment=data.get("comment", ""))
        review = self.get_queryset().get(pk=review.pk)
        return Response(self.get_serializer(review).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cdr = serializer.validated_data["cdr"]
        if QualityReview.objects.filter(cdr=cdr).exists() and not request.user.has_perm("calls.change_qualityreview"):
            self.permission_denied(request)
        return self._save(cdr, serializer.validated_data, status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        review = self.get_object()
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(review, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = {"score": serializer.validated_data.get("score", review.score),
                "comment": serializer.validated_data.get("comment", review.comment)}
        return self._save(review.cdr, data, status_code=status.HTTP_200_OK)

    def perform_destroy(self, instance):
        services.quality_review_delete(review=instance)


def register(router) -> None:
    router.register("cdrs", CdrViewSet, basename="cdr")
    router.register("recordings", RecordingViewSet, basename="recording")
    router.register("missed-calls", MissedCallViewSet, basename="missed-call")
    router.register("channels", LiveChannelViewSet, basename="channel")
    router.register("agent-states", AgentStateViewSet, basename="agent-state")
    router.register("quality-reviews", QualityReviewViewSet, basename="quality-review")
