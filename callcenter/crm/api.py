"""API resources: customers, customer-categories, customer-fields, field-codes, field-code-values.
Same filtersets and services as the UI; other enterprises' rows are 404; a customer locked by
another agent is 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from callcenter.accounts.models import Agent
from callcenter.core.api import TenantSerializer, TenantViewSet
from callcenter.crm import filtersets, services
from callcenter.crm.models import (
    Customer,
    CustomerCategory,
    CustomerField,
    FieldCode,
    FieldCodeValue,
    ThirdPartySource,
    ThirdPartySubTable,
)


class ServiceViewSet(TenantViewSet):
    def perform_create(self, serializer):
        serializer.instance = self.create_object(dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = self.update_object(serializer.instance, dict(serializer.validated_data))

    def perform_destroy(self, instance):
        self.delete_object(instance)


class CustomerSerializer(TenantSerializer):
    data = serializers.JSONField(required=False, help_text="custom values by CustomerField key")
    locked = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["id", "category", "owner", "name", "phone", "company", "data", "locked", "locked_by",
                  "locked_until", "created_at", "updated_at"]
        read_only_fields = ["locked_by", "locked_until", "created_at", "updated_at"]

    def get_locked(self, obj) -> bool:
        return obj.is_locked()

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("须为对象：字段键 → 值"))
        return value


class CustomerViewSet(ServiceViewSet):
    queryset = Customer.objects.select_related("category", "owner", "locked_by")
    serializer_class = CustomerSerializer
    filterset_class = filtersets.CustomerFilterSet
    sort_field = "id"
    sort_descending = True
    required_verbs = {"lock": "lock", "unlock": "lock", "transfer": "transfer", "merge": "merge"}

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "list":
            # a page shows category, owner and lock holder by id (the *_id columns): no joins, no
            # three related instances per row (bench/customers.py customers-api-list)
            qs = qs.select_related(None)
        return qs

    def get_object(self):
        obj = super().get_object()
        if not services.may_open(self.request.user, obj):
            raise PermissionDenied(_("客户已被坐席 %(a)s 锁定") % {"a": obj.locked_by})
        return obj

    def create_object(self, data):
        custom = data.pop("data", {})
        return services.customer_create(enterprise=self.request.user.enterprise, values=data, data=custom)

    def update_object(self, instance, data):
        custom = data.pop("data", None)
        return services.customer_update(customer=instance, changes=data, data=custom,
                                        partial_data=self.action == "partial_update")

    def delete_object(self, instance):
        services.customer_delete(customer=instance)

    @extend_schema(request=None, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def lock(self, request, pk=None):
        obj = self.get_object()
        try:
            services.customer_lock(customer=obj, agent=request.user)
        except ValidationError as exc:
            raise PermissionDenied("；".join(exc.messages)) from None
        return Response(self.get_serializer(obj).data)

    @extend_schema(request=None, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        obj = self.get_object()
        services.customer_unlock(customer=obj, by=request.user)
        return Response(self.get_serializer(obj).data)

    @extend_schema(request=inline_serializer("CustomerTransfer", {
        "ids": serializers.ListField(child=serializers.IntegerField()), "to_agent": serializers.IntegerField()}),
        responses={200: inline_serializer("CustomersTransferred", {"transferred": serializers.IntegerField()})})
    @action(detail=False, methods=["post"])
    def transfer(self, request):
        """Body: {"ids": [...], "to_agent": <agent id>}."""
        ids = [int(i) for i in request.data.get("ids", []) if str(i).isdigit()]
        objs = [o for o in self.get_queryset().filter(pk__in=ids) if services.may_open(request.user, o)]
        agent = Agent.objects.filter(enterprise_id=request.user.enterprise_id, pk=request.data.get("to_agent")).first()
        if agent is None:
            raise serializers.ValidationError({"to_agent": [_("坐席不存在")]})
        return Response({"transferred": services.customers_transfer(customers=objs, to_agent=agent)})

    @extend_schema(request=inline_serializer("CustomerMerge", {
        "survivor": serializers.IntegerField(), "others": serializers.ListField(child=serializers.IntegerField()),
        "choices": serializers.DictField(child=serializers.IntegerField(), required=False)}),
        responses=CustomerSerializer)
    @action(detail=False, methods=["post"])
    def merge(self, request):
        """Body: {"survivor": id, "others": [ids], "choices": {field: customer id}}."""
        qs = self.get_queryset()
        survivor = qs.filter(pk=request.data.get("survivor")).first()
        others = list(qs.filter(pk__in=[int(i) for i in request.data.get("others", []) if str(i).isdigit()]))
        if survivor is None or len(others) != len(request.data.get("others", [])):
            raise serializers.ValidationError({"customers": [_("客户资料不存在或不属于本企业")]})
        for obj in [survivor, *others]:
            if not services.may_open(request.user, obj):
                raise PermissionDenied(_("客户已被坐席 %(a)s 锁定") % {"a": obj.locked_by})
        merged = services.customers_merge(survivor=survivor, others=others, choices=request.data.get("choices") or {})
        return Response(self.get_serializer(merged).data)


class CustomerCategorySerializer(TenantSerializer):
    class Meta:
        model = CustomerCategory
        fields = ["id", "name", "remark", "created_at"]
        read_only_fields = ["created_at"]
        validators = []


class CustomerCategoryViewSet(ServiceViewSet):
    queryset = CustomerCategory.objects.all()
    serializer_class = CustomerCategorySerializer
    filterset_class = filtersets.CustomerCategoryFilterSet

    def create_object(self, data):
        return services.category_create(enterprise=self.request.user.enterprise, **data)

    def update_object(self, instance, data):
        return services.category_update(category=instance, changes=data)

    def delete_object(self, instance):
        services.category_delete(category=instance)


class CustomerFieldSerializer(TenantSerializer):
    class Meta:
        model = CustomerField
        fields = ["id", "key", "label", "field_type", "code", "required", "visible", "order", "width", "is_birthday"]
        validators = []


class CustomerFieldViewSet(ServiceViewSet):
    queryset = CustomerField.objects.select_related("code")
    serializer_class = CustomerFieldSerializer
    filterset_class = filtersets.CustomerFieldFilterSet

    def create_object(self, data):
        return services.customerfield_create(enterprise=self.request.user.enterprise, values=data)

    def update_object(self, instance, data):
        return services.customerfield_update(field=instance, changes=data)

    def delete_object(self, instance):
        services.customerfield_delete(field=instance)


class FieldCodeSerializer(TenantSerializer):
    tree = serializers.SerializerMethodField()

    class Meta:
        model = FieldCode
        fields = ["id", "name", "remark", "tree"]
        validators = []

    def get_tree(self, obj) -> list:
        return services.fieldcode_tree(obj)


class FieldCodeViewSet(ServiceViewSet):
    queryset = FieldCode.objects.all()
    serializer_class = FieldCodeSerializer
    filterset_class = filtersets.FieldCodeFilterSet

    def create_object(self, data):
        return services.fieldcode_create(enterprise=self.request.user.enterprise, **data)

    def update_object(self, instance, data):
        return services.fieldcode_update(code=instance, changes=data)

    def delete_object(self, instance):
        services.fieldcode_delete(code=instance)


class FieldCodeValueSerializer(TenantSerializer):
    class Meta:
        model = FieldCodeValue
        fields = ["id", "code", "parent", "value", "order"]


class FieldCodeValueViewSet(ServiceViewSet):
    """Values of field codes; permissions are the field code's."""

    queryset = FieldCodeValue.objects.all()
    serializer_class = FieldCodeValueSerializer
    filterset_class = filtersets.FieldCodeValueFilterSet
    http_method_names = ["get", "post", "delete", "head", "options"]

    def create_object(self, data):
        return services.fieldcode_value_add(code=data["code"], value=data["value"], parent=data.get("parent"),
                                            order=data.get("order") or 0)

    def delete_object(self, instance):
        services.fieldcode_value_delete(value=instance)


class ThirdPartySourceSerializer(TenantSerializer):
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False,
                                     help_text="write-only; empty keeps the stored password")
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = ThirdPartySource
        fields = ["id", "name", "kind", "host", "port", "database", "user", "password", "has_password", "sql",
                  "enabled", "timeout", "columns", "mapping", "created_at"]
        read_only_fields = ["enabled", "columns", "created_at"]
        validators = []

    def get_has_password(self, obj) -> bool:
        return bool(obj.password)


class ThirdPartyTestRequest(serializers.Serializer):
    phone = serializers.CharField(max_length=40)


class ThirdPartyTestResult(serializers.Serializer):
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    truncated = serializers.BooleanField()


def _test_response(source, phone, sql=None, max_rows=1):
    from callcenter.crm import thirdparty

    try:
        found = thirdparty.run(source, phone, max_rows=max_rows, sql=sql)
    except thirdparty.ThirdPartyError as exc:
        return Response({"ok": False, "error": str(exc), "columns": [], "rows": [], "truncated": False})
    return Response({"ok": True, "error": "", "columns": found.columns, "truncated": found.truncated,
                     "rows": [[thirdparty._text(v) for v in row] for row in found.rows]})


class ThirdPartySourceViewSet(ServiceViewSet):
    """第三方数据库. Mapping is {local field key: third-party column}; `enabled` changes through
    the enable/disable actions (enabling checks the connection)."""

    queryset = ThirdPartySource.objects.all()
    serializer_class = ThirdPartySourceSerializer
    filterset_class = filtersets.ThirdPartySourceFilterSet
    required_verbs = {"test": "change", "enable": "change", "disable": "change", "reload_columns": "change"}

    def create_object(self, data):
        mapping = data.pop("mapping", None)
        obj = services.source_save(enterprise=self.request.user.enterprise, values=data)
        if mapping:
            services.source_set_mapping(source=obj, mapping=mapping)
        return obj

    def update_object(self, instance, data):
        mapping = data.pop("mapping", None)
        obj = services.source_save(enterprise=self.request.user.enterprise, values=data, source=instance)
        if mapping is not None:
            services.source_set_mapping(source=obj, mapping=mapping)
        return obj

    def delete_object(self, instance):
        services.source_delete(source=instance)

    @extend_schema(request=ThirdPartyTestRequest, responses=ThirdPartyTestResult)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """【测试】: the row found for a phone, or why the database did not answer."""
        body = ThirdPartyTestRequest(data=request.data)
        body.is_valid(raise_exception=True)
        return _test_response(self.get_object(), body.validated_data["phone"])

    @extend_schema(request=None, responses=ThirdPartySourceSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        obj = services.source_set_enabled(source=self.get_object(), enabled=True)
        return Response(self.get_serializer(obj).data)

    @extend_schema(request=None, responses=ThirdPartySourceSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        obj = services.source_set_enabled(source=self.get_object(), enabled=False)
        return Response(self.get_serializer(obj).data)

    @extend_schema(request=None, responses=ThirdPartySourceSerializer)
    @action(detail=True, methods=["post"], url_path="reload-columns")
    def reload_columns(self, request, pk=None):
        obj = self.get_object()
        services.source_reload_columns(source=obj)
        return Response(self.get_serializer(obj).data)


class ThirdPartySubTableSerializer(TenantSerializer):
    columns = serializers.JSONField(required=False, help_text="[{name, label, order, visible}]")

    class Meta:
        model = ThirdPartySubTable
        fields = ["id", "source", "name", "sql", "columns", "enabled", "order"]
        validators = []


class ThirdPartySubTableViewSet(ServiceViewSet):
    """第三方数据库子表; `test` runs the SQL for a phone (at most 1,000 rows, `truncated` beyond)."""

    queryset = ThirdPartySubTable.objects.select_related("source")
    serializer_class = ThirdPartySubTableSerializer
    filterset_class = filtersets.ThirdPartySubTableFilterSet
    sort_field = "id"
    required_verbs = {"test": "change", "fetch_columns": "change"}

    def create_object(self, data):
        return services.subtable_save(enterprise=self.request.user.enterprise, values=data)

    def update_object(self, instance, data):
        return services.subtable_save(enterprise=self.request.user.enterprise, values=data, table=instance)

    def delete_object(self, instance):
        services.subtable_delete(table=instance)

    @extend_schema(request=ThirdPartyTestRequest, responses=ThirdPartyTestResult)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        from callcenter.crm.thirdparty import SUBTABLE_MAX_ROWS

        body = ThirdPartyTestRequest(data=request.data)
        body.is_valid(raise_exception=True)
        obj = self.get_object()
        return _test_response(obj.source, body.validated_data["phone"], sql=obj.sql, max_rows=SUBTABLE_MAX_ROWS)

    @extend_schema(request=None, responses=ThirdPartySubTableSerializer)
    @action(detail=True, methods=["post"], url_path="fetch-columns")
    def fetch_columns(self, request, pk=None):
        obj = self.get_object()
        services.subtable_fetch_columns(table=obj)
        return Response(self.get_serializer(obj).data)


def register(router) -> None:
    router.register("customers", CustomerViewSet, basename="customer")
    router.register("customer-categories", CustomerCategoryViewSet, basename="customer-category")
    router.register("customer-fields", CustomerFieldViewSet, basename="customer-field")
    router.register("field-codes", FieldCodeViewSet, basename="field-code")
    router.register("field-code-values", FieldCodeValueViewSet, basename="field-code-value")
    router.register("third-party-sources", ThirdPartySourceViewSet, basename="third-party-source")
    router.register("third-party-sub-tables", ThirdPartySubTableViewSet, basename="third-party-sub-table")
