"""Forms of the call configuration screens. Rules live in services.py; a refusal comes back
as an error on the field it names."""

from __future__ import annotations

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.choices import AgentType
from callcenter.accounts.models import Agent
from callcenter.core.forms import TenantModelForm, bootstrapify, confine_choices
from callcenter.telephony import services
from callcenter.telephony.choices import WEEKDAYS, PromptKind
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


class TelephonyModelForm(TenantModelForm):
    """Uniqueness and constraints are the services' rules, with messages naming the field."""

    def validate_unique(self):
        pass

    def values(self) -> dict:
        """The model fields the form edits, for a service call."""
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data}


def _prompts(form, field: str, kind: str) -> None:
    form.fields[field].queryset = form.fields[field].queryset.filter(kind=kind).order_by("name")


def _active_agents(enterprise):
    return Agent.objects.filter(enterprise=enterprise).exclude(agent_type=AgentType.DISABLED).order_by("number")


# --- prompts ------------------------------------------------------------------------------------------------

PENDING_SALT = "telephony.prompt-upload"


class PromptUploadForm(forms.Form):
    """【添加】: the file is checked by content; a convertible file offers conversion on resubmit."""

    name = forms.CharField(label=_("语音名称"), max_length=60)
    kind = forms.ChoiceField(label=_("类型"), choices=PromptKind.choices, initial=PromptKind.PROMPT)
    remark = forms.CharField(label=_("备注"), max_length=200, required=False)
    file = forms.FileField(label=_("选择本地语音文件"), required=False,
                           help_text=_("PCM（WAV 或 .pcm），8K，16bit，单声道，最大 10M"))
    convert = forms.BooleanField(label=_("转换为 8kHz 16bit 单声道后保存"), required=False)
    pending = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, enterprise=None, user=None, instance=None, offer_convert=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        self.user = user
        pending = self.pending_upload()
        self.offer_convert = offer_convert or bool(pending)
        if not self.offer_convert:
            del self.fields["convert"]
        if pending:
            self.fields["file"].help_text = _("已保留上次上传的文件“%(name)s”：勾选转换后直接保存，或重新选择文件") % {
                "name": pending.get("n", "")}
        bootstrapify(self)

    def pending_upload(self) -> dict | None:
        """The upload kept from the previous submit, if the token is ours and fresh."""
        token = self.data.get("pending") if self.is_bound else None
        if not token or self.enterprise is None:
            return None
        try:
            found = signing.loads(token, salt=PENDING_SALT, max_age=3600)
        except signing.BadSignature:
            return None
        if found.get("e") != self.enterprise.pk or found.get("u") != getattr(self.user, "pk", None):
            return None
        return found

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("file") and not self.pending_upload():
            self.add_error("file", _("请选择语音文件"))
        return cleaned

    def save_m2m(self):
        """The generic add view's contract; prompts have no many-to-many fields."""


class PromptEditForm(TelephonyModelForm):
    """【修改】: the name and the remark."""

    class Meta:
        model = Prompt
        fields = ["name", "remark"]


# --- agent groups and queue members ----------------------------------------------------------------


class AgentGroupForm(TelephonyModelForm):
    class Meta:
        model = AgentGroup
        fields = ["name", "order_rule", "enabled", "remark"]


class MemberAddForm(forms.Form):
    agents = forms.ModelMultipleChoiceField(label=_("添加坐席"), queryset=Agent.objects.none(),
                                            widget=forms.SelectMultiple(attrs={"size": 8}))

    def __init__(self, *args, enterprise=None, exclude_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = _active_agents(enterprise).exclude(pk__in=list(exclude_ids))
        bootstrapify(self)


# --- call flows ------------------------------------------------------------------------------------


class CallFlowForm(TelephonyModelForm):
    class Meta:
        model = CallFlow
        fields = ["name", "caller_id", "prompt", "ringback", "transfer_mode", "play_seconds", "replay_key",
                  "transfer_key", "play_count", "agent_group", "dial_ratio", "extra_lines", "interval_seconds",
                  "retries", "retry_delay_seconds", "sms_enabled", "sms_min_seconds", "sms_text", "pause_after_hangup",
                  "remark"]
        widgets = {"sms_text": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _prompts(self, "prompt", PromptKind.PROMPT)
        _prompts(self, "ringback", PromptKind.RINGBACK)
        self.fields["play_seconds"].help_text = _("只在“播放中转坐席”时生效")
        self.fields["agent_group"].queryset = self.fields["agent_group"].queryset.order_by("name")
        # Left empty (older clients, imports): the model's default.
        self.fields["retry_delay_seconds"].required = False
        self.fields["retry_delay_seconds"].help_text = _("呼叫失败的号码隔多久再呼，默认600秒")

    def clean_retry_delay_seconds(self):
        value = self.cleaned_data.get("retry_delay_seconds")
        return CallFlow._meta.get_field("retry_delay_seconds").default if value is None else value


class TestDialForm(forms.Form):
    number = forms.CharField(label=_("测试号码"), max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)


# --- trunks and DID rules --------------------------------------------------------------------------


class TrunkForm(TelephonyModelForm):
    server_password = forms.CharField(
        label=_("服务器密码"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("本地服务器类型必填；修改时留空则不变"))

    class Meta:
        model = Trunk
        fields = ["number", "prefix", "server_type", "server_ip", "server_account", "server_password",
                  "concurrent_lines", "reserved_lines", "enabled", "remark"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["number"].help_text = _("通常为企业号后接 001、002…")
        self.fields["reserved_lines"].help_text = _("群呼专用，不能大于并发外线数")
        if self.instance.pk and self.instance.server_password:
            self.fields["server_password"].help_text = _("已设置；留空则不变")

    def clean(self):
        cleaned = super().clean()
        # On the field, before the model's check constraint would report it without one.
        refusal = services.trunk_lines_refusal(cleaned.get("reserved_lines"), cleaned.get("concurrent_lines"))
        if refusal:
            self.add_error("reserved_lines", refusal)
        return cleaned


class DidRouteForm(TelephonyModelForm):
    class Meta:
        model = DidRoute
        fields = ["did", "schedule"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schedule"].queryset = self.fields["schedule"].queryset.order_by("name")


# --- queues ----------------------------------------------------------------------------------------


class QueueForm(TelephonyModelForm):
    members = forms.ModelMultipleChoiceField(
        label=_("坐席"), queryset=Agent.objects.none(), required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("启用的队列至少要有一个坐席；顺序可在【设置坐席】中调整"))

    class Meta:
        model = Queue
        fields = ["name", "extension", "strategy", "music", "ring_seconds", "retry_seconds", "announce",
                  "announce_frequency", "max_wait_seconds", "before_number_prompt", "announce_agent_number",
                  "after_number_prompt", "enabled", "overflow_to_mobile"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _prompts(self, "music", PromptKind.RINGBACK)
        for name in ("announce", "before_number_prompt", "after_number_prompt"):
            _prompts(self, name, PromptKind.PROMPT)
        if self.instance.pk:
            del self.fields["members"]  # members are managed on their own page
        else:
            self.fields["members"].queryset = _active_agents(self.enterprise)
            self.initial["enabled"] = False  # a queue is enabled once it has members


# --- routes ----------------------------------------------------------------------------------------


class RouteForm(TelephonyModelForm):
    class Meta:
        model = Route
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].help_text = _("分机：坐席号或队列分机号；坐席组：坐席组名；语音导航：导航名称")


class DatabaseRouteForm(RouteForm):
    class Meta:
        model = Route
        fields = ["name", "priority", "numbers", "customer_category", "destination_kind", "destination", "enabled"]
        widgets = {"numbers": forms.Textarea(attrs={"rows": 4})}


class AreaRouteForm(RouteForm):
    province = forms.ChoiceField(label=_("省份"), choices=[("", "---------")] + [(p, p) for p in services.PROVINCES])

    class Meta:
        model = Route
        fields = ["name", "priority", "province", "city", "destination_kind", "destination", "enabled"]


# --- IVR menus and keys ----------------------------------------------------------------------------


class IvrMenuForm(TelephonyModelForm):
    class Meta:
        model = IvrMenu
        fields = ["name", "default_extensions", "default_order", "prompt", "ring_wait_seconds", "to_last_agent",
                  "direct_dial", "remark"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _prompts(self, "prompt", PromptKind.PROMPT)
        self.fields["prompt"].widget.attrs["data-preview"] = "prompt-preview"
        self.fields["ring_wait_seconds"].help_text = _("播放完导航语音后振铃多长时间开始呼叫默认分机")


class IvrKeyForm(forms.ModelForm):
    class Meta:
        model = IvrKey
        fields = ["key", "action", "extension", "prompt"]

    def __init__(self, *args, enterprise=None, **kwargs):
        super().__init__(*args, **kwargs)
        confine_choices(self, enterprise)
        self.fields["prompt"].queryset = self.fields["prompt"].queryset.order_by("name")
        self.fields["extension"].help_text = _("“直接转分机”时填写")
        self.fields["prompt"].help_text = _("“播放语音”时选择")
        bootstrapify(self)

    def validate_unique(self):
        pass


# --- schedules -------------------------------------------------------------------------------------


class ScheduleForm(TelephonyModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("导航时间（星期）"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Schedule
        fields = ["name", "weekdays", "default_menu", "remark"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["weekdays"] = sorted(self.instance.weekday_set()) if self.instance.pk else list(range(1, 8))
        self.fields["default_menu"].queryset = self.fields["default_menu"].queryset.order_by("name")

    def clean_weekdays(self):
        return ",".join(str(d) for d in sorted(set(self.cleaned_data["weekdays"])))


class SlotForm(forms.ModelForm):
    class Meta:
        model = ScheduleSlot
        fields = ["start", "end", "menu"]
        widgets = {"start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, enterprise=None, **kwargs):
        super().__init__(*args, **kwargs)
        confine_choices(self, enterprise)
        self.fields["menu"].queryset = self.fields["menu"].queryset.order_by("name")
        bootstrapify(self)


# --- blacklist -------------------------------------------------------------------------------------


class BlacklistForm(TelephonyModelForm):
    number = forms.CharField(label=_("号码"), max_length=30)

    class Meta:
        model = BlacklistEntry
        fields = ["number", "direction", "remark"]

    def clean_number(self):
        return services.normal_number(self.cleaned_data["number"])
