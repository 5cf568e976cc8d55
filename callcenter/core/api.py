"""REST API bases shared by every resource: tenant-confined serializers and viewsets."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from callcenter.core import audit
from callcenter.core.scope import scoped


class TenantSerializer(serializers.ModelSerializer):
    """Related rows offered or accepted are confined to the caller's enterprise."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        enterprise_id = getattr(getattr(request, "user", None), "enterprise_id", None)
        for field in fields.values():
            target = getattr(field, "child_relation", field)
            qs = getattr(target, "queryset", None)
            if qs is not None and "enterprise" in {f.name for f in qs.model._meta.get_fields()}:
                target.queryset = qs.filter(enterprise_id=enterprise_id)
        return fields


class TenantViewSet(viewsets.ModelViewSet):
    """Every query confined to the caller's enterprise and data scope; writes audited."""

    sort_field = "id"
    sort_descending = False

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.user)

    def perform_create(self, serializer):
        obj = serializer.save(enterprise=self.request.user.enterprise)
        audit.record_create(obj)

    def perform_update(self, serializer):
        before = audit.snapshot(serializer.instance)
        obj = serializer.save()
        audit.record_update(obj, before)

    def perform_destroy(self, instance):
        audit.record_delete(instance)
        instance.delete()
