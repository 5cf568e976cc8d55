"""API resources of the pbx app: config-applies (list, retrieve, create = 【应用配置】 now)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from callcenter.core.scope import scoped
from callcenter.pbx import services
from callcenter.pbx.models import ConfigApply


class ConfigApplySerializer(serializers.ModelSerializer):
    applied_by = serializers.CharField(source="applied_by_label", read_only=True)

    class Meta:
        model = ConfigApply
        fields = ["id", "applied_by", "started_at", "finished_at", "status", "message", "summary"]
        read_only_fields = fields


class ConfigApplyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         viewsets.GenericViewSet):
    """History of configuration applies; POST applies the current configuration now."""

    queryset = ConfigApply.objects.all()
    serializer_class = ConfigApplySerializer
    sort_field = "id"
    sort_descending = True

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    @extend_schema(request=None, responses={201: ConfigApplySerializer})
    def create(self, request, *args, **kwargs):
        record = services.config_apply(enterprise=request.user.enterprise, user=request.user)
        return Response(ConfigApplySerializer(record).data, status=status.HTTP_201_CREATED)


def register(router) -> None:
    router.register("config-applies", ConfigApplyViewSet, basename="config-apply")
