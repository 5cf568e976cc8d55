"""API resources: announcements (publish, approve, reject) and todos (own only; mark-read, read-all)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from callcenter.core.api import TenantSerializer, TenantViewSet
from callcenter.core.drf import ScreenPermission
from callcenter.notices import filtersets, services
from callcenter.notices.models import Announcement, Todo


class OpenReadPermission(ScreenPermission):
    """Reads are open to every enterprise user (the queryset confines rows); writes need the model perms."""

    open_actions = ("list", "retrieve", "mark_read", "read_all")

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.enterprise_id is not None):
            return False
        if view.action in self.open_actions:
            return True
        return super().has_permission(request, view)


class AnnouncementSerializer(TenantSerializer):
    publish = serializers.BooleanField(write_only=True, required=False, default=True)

    class Meta:
        model = Announcement
        fields = ["id", "title", "content", "audience", "departments", "agents", "author", "status",
                  "reject_reason", "approver", "created_at", "published_at", "publish"]
        read_only_fields = ["author", "status", "reject_reason", "approver", "created_at", "published_at"]


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class AnnouncementViewSet(TenantViewSet):
    queryset = Announcement.objects.select_related("author", "approver").prefetch_related("departments", "agents")
    serializer_class = AnnouncementSerializer
    filterset_class = filtersets.AnnouncementFilterSet
    permission_classes = [OpenReadPermission]
    sort_field = "created_at"
    sort_descending = True
    required_verbs = {"publish": "add", "approve": "approve", "reject": "approve"}

    def get_queryset(self):
        return services.visible_announcements(self.queryset.all(), self.request.user)

    @staticmethod
    def _data(v: dict, instance=None) -> dict:
        def pick(name, default):
            return v[name] if name in v else (getattr(instance, name) if instance else default)

        return {"title": pick("title", ""), "content": pick("content", ""), "audience": pick("audience", "all"),
                "departments": v["departments"] if "departments" in v else (
                    list(instance.departments.all()) if instance else []),
                "agents": v["agents"] if "agents" in v else (list(instance.agents.all()) if instance else [])}

    def perform_create(self, serializer):
        v = dict(serializer.validated_data)
        publish = v.pop("publish", True)
        serializer.instance = services.announcement_create(
            enterprise=self.request.user.enterprise, author=self.request.user, publish=publish, **self._data(v))

    def perform_update(self, serializer):
        v = dict(serializer.validated_data)
        v.pop("publish", None)
        serializer.instance = services.announcement_update(announcement=serializer.instance,
                                                           **self._data(v, serializer.instance))

    def perform_destroy(self, instance):
        services.announcement_delete(announcement=instance)

    def _reply(self, ann):
        ann = self.get_queryset().get(pk=ann.pk)
        return Response(AnnouncementSerializer(ann, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=AnnouncementSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._reply(services.announcement_publish(announcement=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses=AnnouncementSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._reply(services.announcement_approve(announcement=self.get_object(), approver=request.user))

    @extend_schema(request=RejectSerializer, responses=AnnouncementSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        ann = self.get_object()
        return self._reply(services.announcement_reject(announcement=ann, approver=request.user,
                                                        reason=request.data.get("reason", "")))


class TodoSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Todo
        fields = ["id", "agent", "kind", "title", "url", "source_id", "created_at", "read_at", "popped_at", "is_read"]


class TodoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own to-dos."""

    queryset = Todo.objects.all()
    serializer_class = TodoSerializer
    filterset_class = filtersets.TodoFilterSet
    permission_classes = [OpenReadPermission]
    sort_field = "created_at"
    sort_descending = True

    def get_queryset(self):
        return services.own_todos(self.request.user)

    @extend_schema(request=None, responses=TodoSerializer)
    @action(detail=True, methods=["post"], url_path="mark-read")
    def mark_read(self, request, pk=None):
        todo = self.get_object()
        services.todos_mark_read(self.get_queryset().filter(pk=todo.pk))
        todo.refresh_from_db()
        return Response(TodoSerializer(todo).data)

    @extend_schema(request=None, responses={200: inline_serializer("TodosRead", {"read": serializers.IntegerField()})})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark read the to-dos matching the query string's filters."""
        qs = self.filter_queryset(self.get_queryset())
        return Response({"read": services.todos_mark_read(qs)})


def register(router) -> None:
    router.register("announcements", AnnouncementViewSet, basename="announcement")
    router.register("todos", TodoViewSet, basename="todo")
