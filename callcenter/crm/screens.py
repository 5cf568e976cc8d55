"""The customer screens (manual 2.3.1 管理客户资料, 2.3.2 客户字段代码), declared once: URLs, menu
entries and generic views come from here; every write goes through services.py."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from callcenter.core import navigation
from callcenter.core.screens import Screen, register
from callcenter.crm import filtersets, forms, services, tables
from callcenter.crm.importers import CUSTOMER_IMPORTERS
from callcenter.crm.models import (
    Customer,
    CustomerCategory,
    CustomerField,
    FieldCode,
    ThirdPartySource,
    ThirdPartySubTable,
)

# The fixed columns of the customer export; custom fields follow, one `DataValue` each.
FIXED_EXPORT_COLUMNS = [(_("客户名称"), "name"), (_("电话"), "phone"), (_("公司"), "company"),
                        (_("客户分类"), "category.name"), (_("归属坐席"), "owner.number"),
                        (_("创建时间"), "created_at")]


class DataValue:
    """The export column of a custom field: the customer's value under `key`."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self, obj):
        return obj.data.get(self.key, "")


def _export_cell(value):
    """A stored custom value as the generic export shows it (core.exporting's plain values)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _gettext("是") if value else _gettext("否")
    if isinstance(value, int | float | str):
        return value
    return str(value)


def customer_export_rows(queryset, keys: list[str]):
    """Rows of the customer export from one values query, not model instances (a million customers:
    bench/customers.py); categories and owners are looked up once per enterprise, the time zone once.
    The same cells as the generic rows of CustomerScreen.get_export_columns (tested)."""
    from django.utils import timezone

    from callcenter.accounts.models import Agent

    categories: dict[int, str] = {}
    owners: dict[int, str] = {}
    loaded: set[int] = set()
    tz = timezone.get_current_timezone()
    plain = (str, int, float)
    values = queryset.values_list("enterprise_id", "name", "phone", "company", "category_id", "owner_id",
                                  "created_at", "data")
    for enterprise_id, name, phone, company, category_id, owner_id, created_at, data in values.iterator(
            chunk_size=5000):
        if enterprise_id not in loaded:
            loaded.add(enterprise_id)
            categories.update(CustomerCategory.objects.filter(enterprise_id=enterprise_id).values_list("pk", "name"))
            owners.update(Agent.objects.filter(enterprise_id=enterprise_id).values_list("pk", "number"))
        # timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M:%S"), without a time-zone look-up per row
        when = created_at.astimezone(tz).isoformat(" ", "seconds")[:19] if created_at else ""
        row = [name, phone, company, categories.get(category_id, ""), owners.get(owner_id, "") if owner_id else "",
               when]
        for key in keys:
            value = data.get(key, "")
            row.append(value if type(value) in plain else _export_cell(value))
        yield row


class CustomerScreen(Screen):
    model = Customer
    section = "customers"
    menu_order = 10
    filterset_class = filtersets.CustomerFilterSet
    table_class = tables.CustomerTable
    form_class = forms.CustomerForm
    bulk_edit_form_class = forms.CustomerBulkEditForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_edit", "bulk_delete", "import", "export")
    sort_fields = {"id": "id", "name": "name", "created_at": "created_at", "category": "category_id"}
    default_sort = "-id"
    select_related = ("category", "owner", "locked_by")
    importers = CUSTOMER_IMPORTERS
    list_template = "crm/customer_list.html"
    detail_template = "crm/customer_detail.html"
    edit_template = "crm/customer_edit.html"

    @property
    def custom_views(self):
        from callcenter.crm import views

        return {"detail": views.CustomerDetailView, "edit": views.CustomerEditView,
                "delete": views.CustomerDeleteView}

    def get_table_class(self, request):
        return tables.customer_table_for(services.fields_of(request.user.enterprise))

    def get_export_columns(self, user):
        columns = list(FIXED_EXPORT_COLUMNS)
        for f in services.fields_of(user.enterprise):
            columns.append((f.label, DataValue(f.key)))
        return columns

    def export_rows(self, queryset, columns):
        n = len(FIXED_EXPORT_COLUMNS)
        custom = [accessor for _label, accessor in columns[n:]]
        if ([accessor for _label, accessor in columns[:n]] != [a for _label, a in FIXED_EXPORT_COLUMNS]
                or not all(isinstance(a, DataValue) for a in custom)):
            return super().export_rows(queryset, columns)
        return customer_export_rows(queryset, [a.key for a in custom])

    def guard(self, request, obj):
        """A customer locked by another agent is theirs alone (their supervisors and the administrator excepted)."""
        if not services.may_open(request.user, obj):
            raise PermissionDenied(_gettext("客户已被坐席 %(a)s 锁定") % {"a": obj.locked_by})
        return obj

    def create(self, request, form):
        return services.customer_create(enterprise=request.user.enterprise, values=form.values(),
                                        data=form.data_values())

    def update(self, request, obj, form):
        return services.customer_update(customer=obj, changes=form.values(), data=form.data_values())

    def delete_refusal(self, request, obj):
        if not services.may_open(request.user, obj):
            return _gettext("客户已被坐席 %(a)s 锁定") % {"a": obj.locked_by}
        return None

    def delete(self, request, obj):
        services.customer_delete(customer=obj)

    def bulk_update(self, request, objs, changes):
        objs = [o for o in objs if services.may_open(request.user, o)]
        return services.customers_bulk_set(enterprise=request.user.enterprise, customers=objs,
                                           field=changes["field"], value=changes["value"])


class CustomerCategoryScreen(Screen):
    model = CustomerCategory
    section = "customers"
    menu_order = 11
    filterset_class = filtersets.CustomerCategoryFilterSet
    table_class = tables.CustomerCategoryTable
    form_class = forms.CustomerCategoryForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    detail_fields = ["name", "remark", "created_at"]
    export_columns = [(_("分类名称"), "name"), (_("备注"), "remark"), (_("创建时间"), "created_at")]

    def create(self, request, form):
        return services.category_create(enterprise=request.user.enterprise, **form.cleaned_data)

    def update(self, request, obj, form):
        stored = CustomerCategory.objects.get(pk=obj.pk)
        return services.category_update(category=stored, changes=form.cleaned_data)

    def delete_refusal(self, request, obj):
        return services.category_delete_refusal(obj)

    def delete(self, request, obj):
        services.category_delete(category=obj)


class CustomerFieldScreen(Screen):
    """客户字段: each field's definition (key, type, field code, birthday). The screen-pop settings of
    all fields together (【设置弹屏字段】) have their own page, views.PopFieldsView."""

    model = CustomerField
    section = "customers"
    menu_order = 12
    filterset_class = filtersets.CustomerFieldFilterSet
    table_class = tables.CustomerFieldTable
    form_class = forms.CustomerFieldForm
    actions = ("list", "detail", "add", "edit", "delete", "export")
    sort_fields = {"order": "order"}
    default_sort = "order"
    select_related = ("code",)
    detail_fields = ["key", "label", "field_type", "code", "required", "visible", "order", "width", "is_birthday"]
    export_columns = [(_("顺序"), "order"), (_("字段名称"), "label"), (_("字段键"), "key"),
                      (_("字段类型"), "get_field_type_display"), (_("字段代码"), "code.name"), (_("必填"), "required"),
                      (_("显示"), "visible"), (_("宽度占比"), "width"), (_("生日字段"), "is_birthday")]

    def create(self, request, form):
        return services.customerfield_create(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        stored = CustomerField.objects.get(pk=obj.pk)
        return services.customerfield_update(field=stored, changes=form.values())

    def delete(self, request, obj):
        services.customerfield_delete(field=obj)


class FieldCodeScreen(Screen):
    model = FieldCode
    section = "customers"
    menu_order = 13
    filterset_class = filtersets.FieldCodeFilterSet
    table_class = tables.FieldCodeTable
    form_class = forms.FieldCodeForm
    actions = ("list", "detail", "add", "edit", "delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    detail_fields = ["name", "remark"]
    detail_template = "crm/fieldcode_detail.html"
    export_columns = [(_("代码名称"), "name"), (_("备注"), "remark")]

    @property
    def custom_views(self):
        from callcenter.crm import views

        return {"detail": views.FieldCodeDetailView}

    def create(self, request, form):
        return services.fieldcode_create(enterprise=request.user.enterprise, **form.cleaned_data)

    def update(self, request, obj, form):
        stored = FieldCode.objects.get(pk=obj.pk)
        return services.fieldcode_update(code=stored, changes=form.cleaned_data)

    def delete_refusal(self, request, obj):
        return services.fieldcode_delete_refusal(obj)

    def delete(self, request, obj):
        services.fieldcode_delete(code=obj)


class ThirdPartySourceScreen(Screen):
    """第三方数据库 (2.7.4): connection, lookup SQL, 【测试】, 生效/失效, 【重新加载】 and the field mapping."""

    model = ThirdPartySource
    section = "system"
    menu_order = 56
    menu_label = _("第三方数据库")
    filterset_class = filtersets.ThirdPartySourceFilterSet
    table_class = tables.ThirdPartySourceTable
    form_class = forms.ThirdPartySourceForm
    actions = ("list", "detail", "add", "edit", "delete")
    sort_fields = {"name": "name"}
    default_sort = "name"
    detail_template = "crm/thirdpartysource_detail.html"

    @property
    def custom_views(self):
        from callcenter.crm import views

        return {"detail": views.ThirdPartySourceDetailView}

    def create(self, request, form):
        return services.source_save(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        stored = ThirdPartySource.objects.get(pk=obj.pk)
        return services.source_save(enterprise=request.user.enterprise, values=form.values(), source=stored)

    def delete_refusal(self, request, obj):
        return services.source_delete_refusal(obj)

    def delete(self, request, obj):
        services.source_delete(source=obj)


class ThirdPartySubTableScreen(Screen):
    """第三方数据库子表 (2.7.5): a named SQL; 【检测 SQL】, 【获取字段】, column order and visibility."""

    model = ThirdPartySubTable
    section = "system"
    menu_order = 57
    menu_label = _("第三方数据库子表")
    filterset_class = filtersets.ThirdPartySubTableFilterSet
    table_class = tables.ThirdPartySubTableTable
    form_class = forms.ThirdPartySubTableForm
    actions = ("list", "detail", "add", "edit", "delete")
    sort_fields = {"order": "order"}
    default_sort = "order"
    select_related = ("source",)
    detail_template = "crm/thirdpartysubtable_detail.html"

    @property
    def custom_views(self):
        from callcenter.crm import views

        return {"detail": views.ThirdPartySubTableDetailView}

    def create(self, request, form):
        return services.subtable_save(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        stored = ThirdPartySubTable.objects.get(pk=obj.pk)
        return services.subtable_save(enterprise=request.user.enterprise, values=form.values(), table=stored)

    def delete(self, request, obj):
        services.subtable_delete(table=obj)


customer_screen = register(CustomerScreen)
category_screen = register(CustomerCategoryScreen)
field_screen = register(CustomerFieldScreen)
fieldcode_screen = register(FieldCodeScreen)
source_screen = register(ThirdPartySourceScreen)
# 【设置弹屏字段】: its own page over the customer fields (views.PopFieldsView)
navigation.register("customers", _("设置弹屏字段"), "crm:popfields", "crm.view_customerfield", order=12)
subtable_screen = register(ThirdPartySubTableScreen)
SCREENS = [customer_screen, category_screen, field_screen, fieldcode_screen, source_screen, subtable_screen]
