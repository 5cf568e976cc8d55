"""The call configuration screens (manual 2.2.1, 2.2.4, 2.2.6-2.2.10, 2.7.3, 2.8), declared once:
URLs, menu entries and generic views come from here; every write goes through services.py."""

from __future__ import annotations

from django.db.models import Count
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from callcenter.core.screens import Screen, register
from callcenter.telephony import filtersets, forms, services, tables
from callcenter.telephony.choices import RouteKind
from callcenter.telephony.importers import BLACKLIST_IMPORTERS
from callcenter.telephony.models import (
    AgentGroup,
    BlacklistEntry,
    CallFlow,
    IvrMenu,
    Prompt,
    Queue,
    Route,
    Schedule,
    Trunk,
)


class ConfigScreen(Screen):
    """A screen whose URLs may use a name other than the model's (two route screens share Route)."""

    url_key: str | None = None

    @property
    def model_name(self) -> str:
        return self.url_key or self.model._meta.model_name

    def perm(self, action: str) -> str:
        verb = {"list": "view", "detail": "view", "edit": "change", "bulk_edit": "change",
                "bulk_delete": "delete"}.get(action, action)
        return f"{self.app_label}.{verb}_{self.model._meta.model_name}"

    @property
    def custom_views(self):
        from callcenter.telephony import views

        return {"detail": views.ConfigDetailView, **self.extra_views(views)}

    def extra_views(self, views) -> dict:
        return {}

    def detail_extra(self, request, obj) -> dict:
        """Context beyond the field list for the detail page."""
        return {}

    @staticmethod
    def stored(obj):
        """The row as stored: the edit form has already copied the new values onto `obj`."""
        return type(obj).objects.get(pk=obj.pk)


class PromptScreen(ConfigScreen):
    model = Prompt
    section = "callconfig"
    menu_order = 10
    filterset_class = filtersets.PromptFilterSet
    table_class = tables.PromptTable
    form_class = forms.PromptEditForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name", "created_at": "created_at"}
    default_sort = "name"
    detail_fields = ["name", "kind", "remark", "duration_ms", "size", "created_at"]
    detail_template = "telephony/prompt_detail.html"
    export_columns = [(_("语音名称"), "name"), (_("类型"), "get_kind_display"), (_("备注"), "remark"),
                      (_("时长（毫秒）"), "duration_ms"), (_("大小（字节）"), "size"), (_("上传时间"), "created_at")]

    def extra_views(self, views):
        return {"add": views.PromptAddView}

    def update(self, request, obj, form):
        return services.prompt_update(prompt=self.stored(obj), changes=form.values())

    def delete_refusal(self, request, obj):
        return services.prompt_delete_refusal(obj)

    def delete(self, request, obj):
        services.prompt_delete(prompt=obj)

    def detail_extra(self, request, obj):
        return {"users": services.prompt_users(obj)}


class MembersScreen(ConfigScreen):
    """Agent groups and queues: an ordered member list on its own page (【设置坐席】)."""

    def queryset(self, request):
        return super().queryset(request).annotate(member_count=Count("memberships"))

    def detail_extra(self, request, obj):
        return {"members": obj.memberships.select_related("agent").order_by("position", "id"),
                "members_url": reverse(self.url_name("members"), args=[obj.pk]),
                "toggle_url": reverse(self.url_name("toggle"), args=[obj.pk])}


class AgentGroupScreen(MembersScreen):
    model = AgentGroup
    section = "callconfig"
    menu_order = 45
    filterset_class = filtersets.AgentGroupFilterSet
    table_class = tables.AgentGroupTable
    form_class = forms.AgentGroupForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    detail_fields = ["name", "order_rule", "enabled", "remark"]
    detail_template = "telephony/members_detail.html"
    export_columns = [(_("坐席组名"), "name"), (_("转接顺序"), "get_order_rule_display"), (_("启用"), "enabled"),
                      (_("备注"), "remark")]

    def create(self, request, form):
        return services.group_create(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        return services.group_update(group=self.stored(obj), changes=form.values())

    def delete_refusal(self, request, obj):
        return services.group_delete_refusal(obj)

    def delete(self, request, obj):
        services.group_delete(group=obj)


class CallFlowScreen(ConfigScreen):
    model = CallFlow
    section = "callconfig"
    menu_order = 60
    filterset_class = filtersets.CallFlowFilterSet
    table_class = tables.CallFlowTable
    form_class = forms.CallFlowForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    select_related = ("prompt", "ringback", "agent_group", "caller_id")
    detail_fields = forms.CallFlowForm.Meta.fields
    detail_template = "telephony/callflow_detail.html"
    export_columns = [
        (_("流程名称"), "name"), (_("外显号码"), "caller_id.number"), (_("播放语音"), "prompt.name"),
        (_("转接彩铃"), "ringback.name"), (_("坐席转接"), "get_transfer_mode_display"),
        (_("播放时长（秒）"), "play_seconds"), (_("重听按键"), "replay_key"), (_("转接按键"), "transfer_key"),
        (_("播放次数"), "play_count"), (_("坐席组"), "agent_group.name"), (_("发送比例（%）"), "dial_ratio"),
        (_("追加外呼数"), "extra_lines"), (_("发送间隔（秒）"), "interval_seconds"), (_("重呼次数"), "retries"),
        (_("重呼间隔（秒）"), "retry_delay_seconds"),
        (_("短信发送状态"), "sms_enabled"), (_("短信发送（接通秒数不少于）"), "sms_min_seconds"),
        (_("短信发送内容"), "sms_text"), (_("挂断后暂停"), "pause_after_hangup"), (_("流程说明"), "remark"),
    ]

    def create(self, request, form):
        return services.callflow_create(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        return services.callflow_update(flow=self.stored(obj), changes=form.values())

    def delete(self, request, obj):
        services.callflow_delete(flow=obj)

    def detail_extra(self, request, obj):
        # 测拨 is served by the pbx app; until its URL exists the button is not offered.
        try:
            url = reverse("pbx:test_dial", args=[obj.pk])
        except NoReverseMatch:
            url = None
        allowed = request.user.has_perm("telephony.test_dial_callflow")
        return {"test_dial_url": url if allowed else None, "test_dial_form": forms.TestDialForm()}


class TrunkScreen(ConfigScreen):
    model = Trunk
    section = "callconfig"
    menu_order = 70
    filterset_class = filtersets.TrunkFilterSet
    table_class = tables.TrunkTable
    form_class = forms.TrunkForm
    actions = ("list", "detail", "add", "edit", "delete", "export")
    sort_fields = {"number": "number"}
    default_sort = "number"
    detail_fields = ["account", "number", "prefix", "server_type", "server_ip", "server_account", "concurrent_lines",
                     "reserved_lines", "enabled", "remark"]
    detail_template = "telephony/trunk_detail.html"
    export_columns = [(_("帐号"), "account"), (_("外线号码"), "number"), (_("前呼号码"), "prefix"),
                      (_("服务器类型"), "get_server_type_display"), (_("服务器IP"), "server_ip"),
                      (_("服务器帐号"), "server_account"), (_("并发外线数"), "concurrent_lines"),
                      (_("群呼外线数"), "reserved_lines"), (_("状态"), "enabled"), (_("备注"), "remark")]

    def create(self, request, form):
        return services.trunk_create(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        return services.trunk_update(trunk=self.stored(obj), changes=form.values())

    def delete(self, request, obj):
        services.trunk_delete(trunk=obj)

    def detail_extra(self, request, obj):
        return {"dids": obj.did_routes.select_related("schedule").order_by("did"),
                "dids_url": reverse("telephony:trunk_dids", args=[obj.pk])}


class QueueScreen(MembersScreen):
    model = Queue
    section = "callconfig"
    menu_order = 80
    filterset_class = filtersets.QueueFilterSet
    table_class = tables.QueueTable
    form_class = forms.QueueForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    select_related = ("music", "announce", "before_number_prompt", "after_number_prompt")
    detail_fields = [f for f in forms.QueueForm.Meta.fields]
    detail_template = "telephony/members_detail.html"
    export_columns = [
        (_("队列名"), "name"), (_("队列分机号"), "extension"), (_("排队策略"), "get_strategy_display"),
        (_("队列彩铃"), "music.name"), (_("单个振铃时长（秒）"), "ring_seconds"),
        (_("重试等待时长（秒）"), "retry_seconds"), (_("循环播放提示音"), "announce.name"),
        (_("提示音播放频率（秒）"), "announce_frequency"), (_("拨号超时时间（秒）"), "max_wait_seconds"),
        (_("播工号前语音"), "before_number_prompt.name"), (_("接通前播工号"), "announce_agent_number"),
        (_("播工号后语音"), "after_number_prompt.name"), (_("队列状态"), "enabled"),
        (_("未接通转手机"), "overflow_to_mobile"),
    ]

    def create(self, request, form):
        return services.queue_create(enterprise=request.user.enterprise, values=form.values(),
                                     members=list(form.cleaned_data.get("members") or []))

    def update(self, request, obj, form):
        return services.queue_update(queue=self.stored(obj), changes=form.values())

    def delete_refusal(self, request, obj):
        return services.queue_delete_refusal(obj)

    def delete(self, request, obj):
        services.queue_delete(queue=obj)


class RouteScreen(ConfigScreen):
    """数据库导航 (C9) and 地区导航 (C10): one model, one screen per kind."""

    model = Route
    section = "callconfig"
    kind = ""
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"priority": "priority"}
    default_sort = "priority"

    def queryset(self, request):
        return super().queryset(request).filter(kind=self.kind)

    def create(self, request, form):
        return services.route_create(enterprise=request.user.enterprise, kind=self.kind, values=form.values())

    def update(self, request, obj, form):
        return services.route_update(route=self.stored(obj), changes=form.values())

    def delete(self, request, obj):
        services.route_delete(route=obj)


class DatabaseRouteScreen(RouteScreen):
    url_key = "dbroute"
    kind = RouteKind.DATABASE
    menu_label = _("数据库导航")
    menu_order = 90
    filterset_class = filtersets.DatabaseRouteFilterSet
    table_class = tables.DatabaseRouteTable
    form_class = forms.DatabaseRouteForm
    detail_fields = forms.DatabaseRouteForm.Meta.fields
    export_columns = [(_("优先级"), "priority"), (_("名称"), "name"), (_("来电号码"), "numbers"),
                      (_("客户分类"), "customer_category"), (_("目标类型"), "get_destination_kind_display"),
                      (_("目标"), "destination"), (_("启用"), "enabled")]


class AreaRouteScreen(RouteScreen):
    url_key = "arearoute"
    kind = RouteKind.AREA
    menu_label = _("地区导航")
    menu_order = 95
    filterset_class = filtersets.AreaRouteFilterSet
    table_class = tables.AreaRouteTable
    form_class = forms.AreaRouteForm
    detail_fields = forms.AreaRouteForm.Meta.fields
    export_columns = [(_("优先级"), "priority"), (_("名称"), "name"), (_("省份"), "province"), (_("城市"), "city"),
                      (_("目标类型"), "get_destination_kind_display"), (_("目标"), "destination"),
                      (_("启用"), "enabled")]


class IvrMenuScreen(ConfigScreen):
    model = IvrMenu
    section = "ivr"
    menu_order = 10
    filterset_class = filtersets.IvrMenuFilterSet
    table_class = tables.IvrMenuTable
    form_class = forms.IvrMenuForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    select_related = ("prompt",)
    detail_fields = forms.IvrMenuForm.Meta.fields
    detail_template = "telephony/ivrmenu_detail.html"
    edit_template = "telephony/ivrmenu_edit.html"
    export_columns = [(_("导航名称"), "name"), (_("导航语音"), "prompt.name"),
                      (_("默认呼叫电话"), "default_extensions"),
                      (_("呼叫顺序"), "get_default_order_display"), (_("振铃时长（秒）"), "ring_wait_seconds"),
                      (_("默认转接到最后一次通话员工"), "to_last_agent"), (_("允许转分机（400-899）"), "direct_dial"),
                      (_("备注"), "remark")]

    def queryset(self, request):
        return super().queryset(request).annotate(key_count=Count("keys"))

    def create(self, request, form):
        return services.ivr_create(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        return services.ivr_update(menu=self.stored(obj), changes=form.values())

    def delete_refusal(self, request, obj):
        return services.ivr_delete_refusal(obj)

    def delete(self, request, obj):
        services.ivr_delete(menu=obj)

    def detail_extra(self, request, obj):
        return {"keys": obj.keys.select_related("prompt").order_by("key"),
                "keys_url": reverse("telephony:ivrmenu_keys", args=[obj.pk])}


class ScheduleScreen(ConfigScreen):
    model = Schedule
    section = "ivr"
    menu_order = 20
    filterset_class = filtersets.ScheduleFilterSet
    table_class = tables.ScheduleTable
    form_class = forms.ScheduleForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "export")
    sort_fields = {"name": "name"}
    default_sort = "name"
    select_related = ("default_menu",)
    detail_fields = ["name", "weekdays", "default_menu", "remark"]
    detail_template = "telephony/schedule_detail.html"
    export_columns = [(_("策略名称"), "name"), (_("导航时间（星期）"), "weekdays"),
                      (_("默认导航"), "default_menu.name"),
                      (_("备注"), "remark")]

    def queryset(self, request):
        return super().queryset(request).annotate(slot_count=Count("slots"))

    def create(self, request, form):
        return services.schedule_create(enterprise=request.user.enterprise, values=form.values())

    def update(self, request, obj, form):
        return services.schedule_update(schedule=self.stored(obj), changes=form.values())

    def delete_refusal(self, request, obj):
        return services.schedule_delete_refusal(obj)

    def delete(self, request, obj):
        services.schedule_delete(schedule=obj)

    def detail_extra(self, request, obj):
        from callcenter.telephony.forms import SlotForm

        return {"slots": obj.slots.select_related("menu").order_by("start"),
                "slot_form": SlotForm(enterprise=request.user.enterprise),
                "can_change": request.user.has_perm("telephony.change_schedule")}


class BlacklistScreen(ConfigScreen):
    model = BlacklistEntry
    url_key = "blacklist"
    section = "system"
    menu_order = 50
    filterset_class = filtersets.BlacklistFilterSet
    table_class = tables.BlacklistTable
    form_class = forms.BlacklistForm
    actions = ("list", "detail", "add", "edit", "delete", "bulk_delete", "import", "export")
    sort_fields = {"number": "number", "created_at": "created_at"}
    default_sort = "-created_at"
    detail_fields = ["number", "direction", "remark", "created_at"]
    importers = BLACKLIST_IMPORTERS
    export_columns = [(_("号码"), "number"), (_("方向"), "get_direction_display"), (_("备注"), "remark"),
                      (_("添加时间"), "created_at")]

    def create(self, request, form):
        return services.blacklist_add(enterprise=request.user.enterprise, **form.values())

    def update(self, request, obj, form):
        return services.blacklist_update(entry=self.stored(obj), changes=form.values())

    def delete(self, request, obj):
        services.blacklist_delete(entry=obj)


prompt_screen = register(PromptScreen)
agent_group_screen = register(AgentGroupScreen)
call_flow_screen = register(CallFlowScreen)
trunk_screen = register(TrunkScreen)
queue_screen = register(QueueScreen)
database_route_screen = register(DatabaseRouteScreen)
area_route_screen = register(AreaRouteScreen)
ivr_menu_screen = register(IvrMenuScreen)
schedule_screen = register(ScheduleScreen)
blacklist_screen = register(BlacklistScreen)

SCREENS = [prompt_screen, agent_group_screen, call_flow_screen, trunk_screen, queue_screen, database_route_screen,
           area_route_screen, ivr_menu_screen, schedule_screen, blacklist_screen]
