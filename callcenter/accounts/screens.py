"""The accounts screens, declared once: URLs, menu entries and generic views come from here."""

from __future__ import annotations

import django_filters as df
import django_tables2
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from callcenter.accounts import filtersets, forms, services, tables
from callcenter.accounts.importers import AGENT_IMPORTERS
from callcenter.accounts.models import Agent, CallerId, Department, LoginLog, Role
from callcenter.core import audit
from callcenter.core.filtersets import TenantFilterSet
from callcenter.core.models import AuditLog
from callcenter.core.screens import Screen, register


class AgentScreen(Screen):
    model = Agent
    section = "callconfig"
    menu_order = 30
    filterset_class = filtersets.AgentFilterSet
    table_class = tables.AgentTable
    form_class = forms.AgentForm
    bulk_edit_form_class = forms.AgentBulkEditForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_edit", "bulk_delete", "export", "import")
    sort_fields = {"number": "number", "name": "name", "agent_type": "agent_type", "created_at": "created_at"}
    default_sort = "number"
    select_related = ("department", "supervisor", "caller_id", "role")
    export_columns = [
        (_("坐席号"), "number"), (_("姓名"), "name"), (_("坐席类型"), "get_agent_type_display"),
        (_("部门"), "department.name"), (_("坐席上级"), "supervisor.number"), (_("外显号码"), "caller_id.number"),
        (_("绑定电话"), "phone"), (_("登录方式"), "get_login_mode_display"), (_("角色"), "role.name"),
        (_("录音"), "record_calls"), (_("呼转手机"), "failover_to_mobile"), (_("外呼外线"), "outbound_trunk"),
        (_("最大锁定客户数"), "max_locked_customers"), (_("锁定天数"), "lock_days"),
        (_("备注1"), "remark1"), (_("备注2"), "remark2"), (_("备注3"), "remark3"), (_("备注4"), "remark4"),
    ]
    detail_fields = [
        "number", "name", "agent_type", "department", "supervisor", "caller_id", "phone", "record_calls",
        "failover_to_mobile", "outbound_trunk", "login_mode", "role", "data_scope", "max_locked_customers",
        "lock_days", "remark1", "remark2", "remark3", "remark4", "screen_pop_url", "third_party_user",
        "must_change_password", "created_at",
    ]
    importers = AGENT_IMPORTERS
    list_buttons = [(_("第三方弹屏设置"), "accounts:screen_pop", "accounts.change_agent")]
    detail_buttons = [
        (_("重置密码"), "accounts:agent_reset_password", "accounts.reset_password_agent"),
        (_("禁用"), "accounts:agent_disable", "accounts.change_agent"),
    ]

    @property
    def custom_views(self):
        from callcenter.accounts import views

        return {"add": views.AgentAddView}

    def update(self, request, obj, form):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        changes["third_party_password"] = form.cleaned_data.get("third_party_password", "")
        # The service compares against the stored row, not the form-mutated instance.
        return services.agent_update(agent=Agent.objects.get(pk=obj.pk), changes=changes, actor=request.user)

    def delete_refusal(self, request, obj):
        if obj.pk == request.user.pk:
            return _("不能删除自己")
        return services.agent_delete_refusal(obj)

    def delete(self, request, obj):
        services.agent_delete(agent=obj)


class DepartmentScreen(Screen):
    model = Department
    section = "callconfig"
    menu_order = 50
    filterset_class = filtersets.DepartmentFilterSet
    table_class = tables.DepartmentTable
    form_class = forms.DepartmentForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    select_related = ("parent",)
    export_columns = [(_("部门名称"), "name"), (_("上级部门"), "parent.name"), (_("备注"), "remark")]

    def delete_refusal(self, request, obj):
        return services.department_delete_refusal(obj)


class CallerIdScreen(Screen):
    model = CallerId
    section = "callconfig"
    menu_order = 20
    filterset_class = filtersets.CallerIdFilterSet
    table_class = tables.CallerIdTable
    form_class = forms.CallerIdAddForm
    actions = ("list", "add", "delete", "bulk_delete", "export")
    sort_fields = {"number": "number"}
    default_sort = "number"
    export_columns = [(_("外显号码"), "number"), (_("添加时间"), "created_at")]
    list_template = "accounts/callerid_list.html"
    row_buttons = [(format_lazy("【{}】", _("默认")), "accounts:callerid_default", "accounts.change_callerid")]

    def create(self, request, form):
        created = services.caller_ids_add(enterprise=request.user.enterprise, start=form.cleaned_data["start"],
                                          end=form.cleaned_data.get("end"))
        return created[0]

    def delete_refusal(self, request, obj):
        return services.caller_id_delete_refusal(obj)

    def delete(self, request, obj):
        services.caller_id_delete(caller_id=obj)


class RoleScreen(Screen):
    model = Role
    section = "callconfig"
    menu_order = 40
    filterset_class = filtersets.RoleFilterSet
    table_class = tables.RoleTable
    form_class = forms.RoleForm
    actions = ("list", "detail", "add", "edit", "delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    detail_fields = ["name", "description"]
    detail_template = "accounts/role_detail.html"
    export_columns = [(_("角色名称"), "name"), (_("说明"), "description")]

    def update(self, request, obj, form):
        before = audit.snapshot(Role.objects.get(pk=obj.pk))
        before_perms = sorted(obj.permissions.values_list("codename", flat=True))
        obj = form.save()
        after_perms = sorted(obj.permissions.values_list("codename", flat=True))
        audit.record_update(obj, {**before, "permissions": before_perms} if before_perms != after_perms else before)
        return obj

    def delete_refusal(self, request, obj):
        n = obj.agents.count()
        if n:
            return _("还有 %(n)s 个坐席使用角色“%(name)s”，请先为他们更换角色") % {"n": n, "name": obj.name}
        return None


class LoginLogScreen(Screen):
    model = LoginLog
    section = "callconfig"
    menu_order = 35
    filterset_class = filtersets.LoginLogFilterSet
    table_class = tables.LoginLogTable
    actions = ("list", "export")
    sort_fields = {"at": "at"}
    default_sort = "-at"
    select_related = ("agent",)
    export_columns = [(_("时间"), "at"), (_("坐席号"), "number"), (_("IP地址"), "ip"),
                      (_("登录渠道"), "get_channel_display"), (_("结果"), "get_result_display"),
                      (_("浏览器"), "user_agent")]


class AuditLogFilterSet(TenantFilterSet):
    object_type = df.CharFilter(label=_("对象类型"))
    object_id = df.CharFilter(label=_("对象ID"))
    channel = df.CharFilter(label=_("渠道"))

    class Meta:
        model = AuditLog
        fields = ["object_type", "object_id", "channel", "action"]


class AuditLogTable(django_tables2.Table):
    class Meta:
        model = AuditLog
        fields = ("at", "actor_label", "ip", "channel", "action", "object_type", "object_repr", "changes")


class AuditLogScreen(Screen):
    model = AuditLog
    section = "system"
    menu_order = 90
    filterset_class = AuditLogFilterSet
    table_class = AuditLogTable
    actions = ("list", "export")
    sort_fields = {"at": "at"}
    default_sort = "-at"
    export_columns = [(_("时间"), "at"), (_("操作人"), "actor_label"), (_("IP"), "ip"), (_("渠道"), "channel"),
                      (_("操作"), "action"), (_("对象类型"), "object_type"), (_("对象"), "object_repr"),
                      (_("变更"), "changes")]


agent_screen = register(AgentScreen)
caller_id_screen = register(CallerIdScreen)
role_screen = register(RoleScreen)
login_log_screen = register(LoginLogScreen)
department_screen = register(DepartmentScreen)
audit_log_screen = register(AuditLogScreen)
