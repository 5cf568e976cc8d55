"""Call configuration (manual 2.2.1, 2.2.4, 2.2.6-2.2.10, 2.7.3, 2.8).

Agents, trunks and queues reach the PBX when configuration is applied (C11/S2); the rest
is read by call control at call time and takes effect at once.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent, CallerId
from callcenter.core.crypto import EncryptedTextField
from callcenter.core.models import TenantModel
from callcenter.telephony.choices import (
    DTMF_KEYS,
    REPLAY_KEY_CHOICES,
    TRANSFER_KEY_CHOICES,
    BlacklistDirection,
    DestinationKind,
    GroupOrder,
    IvrAction,
    IvrOrder,
    PromptKind,
    QueueStrategy,
    RouteKind,
    TransferMode,
    TrunkServerType,
)

extension_validator = RegexValidator(r"^[0-9]{3,4}$", _("分机号必须是3到4位数字"))
digits_validator = RegexValidator(r"^[0-9]{1,20}$", _("只能填写数字"))


def _perms(model: str, label: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    """Import and export permissions beside Django's view/add/change/delete."""
    return [(f"import_{model}", f"可导入{label}"), (f"export_{model}", f"可导出{label}"), *extra]


class Prompt(TenantModel):
    """A voice prompt or ringback (语音上传): 8 kHz, 16-bit, mono PCM WAV."""

    name = models.CharField(_("语音名称"), max_length=60)
    kind = models.CharField(_("类型"), max_length=10, choices=PromptKind.choices, default=PromptKind.PROMPT)
    remark = models.CharField(_("备注"), max_length=200, blank=True)
    file = models.FileField(_("语音文件"), upload_to="prompts/%Y%m")
    duration_ms = models.PositiveIntegerField(_("时长（毫秒）"), default=0)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("语音")
        verbose_name_plural = _("语音上传")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="prompt_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="prompt_ent_name"),
                   models.Index(fields=["enterprise", "created_at", "id"], name="prompt_ent_created")]
        permissions = _perms("prompt", "语音")

    def __str__(self) -> str:
        return self.name


class AgentGroup(TenantModel):
    """坐席组: the agents a group call is transferred to, and the order they are tried in."""

    name = models.CharField(_("坐席组名"), max_length=60)
    order_rule = models.CharField(_("转接顺序"), max_length=12, choices=GroupOrder.choices,
                                  default=GroupOrder.SEQUENTIAL)
    enabled = models.BooleanField(_("启用"), default=True)
    remark = models.CharField(_("备注"), max_length=200, blank=True)
    # Round-robin memory: the member who took the last call (written by call control).
    last_agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   editable=False)
    members = models.ManyToManyField(Agent, through="AgentGroupMember", related_name="agent_groups", blank=True)

    class Meta:
        verbose_name = _("坐席组")
        verbose_name_plural = _("坐席组管理")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="group_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="group_ent_name")]
        permissions = _perms("agentgroup", "坐席组")

    def __str__(self) -> str:
        return self.name


class AgentGroupMember(models.Model):
    group = models.ForeignKey(AgentGroup, on_delete=models.CASCADE, related_name="memberships")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="group_memberships")
    position = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "agent"], name="group_member_unique")]


class CallFlow(TenantModel):
    """流程设置 (2.2.6): how a group call plays its prompt and reaches the agent group."""

    name = models.CharField(_("流程名称"), max_length=60)
    caller_id = models.ForeignKey(CallerId, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("外显号码"))
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True, related_name="flows",
                               verbose_name=_("播放语音"))
    ringback = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="ringback_flows", verbose_name=_("转接彩铃"))
    transfer_mode = models.CharField(_("坐席转接"), max_length=15, choices=TransferMode.choices,
                                     default=TransferMode.PLAY_TO_END)
    play_seconds = models.PositiveIntegerField(_("播放时长（秒）"), default=0)
    replay_key = models.CharField(_("重听按键"), max_length=1, choices=REPLAY_KEY_CHOICES, blank=True)
    transfer_key = models.CharField(_("转接按键"), max_length=3, choices=TRANSFER_KEY_CHOICES, blank=True)
    play_count = models.PositiveIntegerField(_("播放次数"), default=1,
                                             validators=[MinValueValidator(1), MaxValueValidator(10)])
    agent_group = models.ForeignKey(AgentGroup, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="flows", verbose_name=_("坐席组"))
    dial_ratio = models.PositiveIntegerField(_("发送比例（%）"), default=100,
                                             validators=[MinValueValidator(1), MaxValueValidator(1000)])
    extra_lines = models.PositiveIntegerField(_("追加外呼数"), default=0, validators=[MaxValueValidator(500)])
    interval_seconds = models.PositiveIntegerField(_("发送间隔（秒）"), default=0)
    retries = models.PositiveIntegerField(_("重呼次数"), default=0, validators=[MaxValueValidator(10)])
    # How long a failed number (no answer, busy, congestion, trunk failure) waits before its next try.
    retry_delay_seconds = models.PositiveIntegerField(_("重呼间隔（秒）"), default=600,
                                                      validators=[MinValueValidator(10), MaxValueValidator(86400)])
    sms_enabled = models.BooleanField(_("短信发送状态"), default=False)
    sms_min_seconds = models.PositiveIntegerField(_("短信发送（接通秒数不少于）"), default=0)
    sms_text = models.TextField(_("短信发送内容"), blank=True, max_length=500)
    pause_after_hangup = models.BooleanField(_("挂断后暂停"), default=False)
    remark = models.CharField(_("流程说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("流程")
        verbose_name_plural = _("流程设置")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="flow_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="flow_ent_name")]
        permissions = _perms("callflow", "流程", ("test_dial_callflow", "可测拨流程"))

    def __str__(self) -> str:
        return self.name


class Trunk(TenantModel):
    """外线设置 (2.2.7). A local-server trunk is a gateway port registering to us; a gateway trunk
    is identified by its IP."""

    account = models.CharField(_("帐号"), max_length=40, editable=False)
    number = models.CharField(_("外线号码"), max_length=20, validators=[digits_validator])
    prefix = models.CharField(_("前呼号码"), max_length=20, blank=True, validators=[digits_validator])
    server_type = models.CharField(_("服务器类型"), max_length=10, choices=TrunkServerType.choices,
                                   default=TrunkServerType.LOCAL)
    server_ip = models.GenericIPAddressField(_("服务器IP"), null=True, blank=True)
    server_account = models.CharField(_("服务器帐号"), max_length=60, blank=True)
    server_password = EncryptedTextField(_("服务器密码"), blank=True)
    concurrent_lines = models.PositiveIntegerField(_("并发外线数"), default=1,
                                                   validators=[MinValueValidator(1), MaxValueValidator(1000)])
    reserved_lines = models.PositiveIntegerField(_("群呼外线数"), default=0)
    enabled = models.BooleanField(_("状态"), default=True)
    remark = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("外线")
        verbose_name_plural = _("外线设置")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "number"], name="trunk_unique_number"),
            models.UniqueConstraint(fields=["account"], name="trunk_unique_account"),
            models.CheckConstraint(condition=models.Q(reserved_lines__lte=models.F("concurrent_lines")),
                                   name="trunk_reserved_within_concurrent"),
        ]
        indexes = [models.Index(fields=["enterprise", "number", "id"], name="trunk_ent_number")]
        permissions = _perms("trunk", "外线")

    def __str__(self) -> str:
        return self.number


class IvrMenu(TenantModel):
    """语音导航 (2.8.1)."""

    name = models.CharField(_("导航名称"), max_length=60)
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True, related_name="ivr_menus",
                               verbose_name=_("导航语音"))
    default_extensions = models.CharField(_("默认呼叫电话"), max_length=200, blank=True,
                                          help_text=_("分机号，多个用逗号分隔，按顺序呼叫"))
    default_order = models.CharField(_("呼叫顺序"), max_length=12, choices=IvrOrder.choices, default=IvrOrder.FIXED)
    ring_wait_seconds = models.PositiveIntegerField(_("振铃时长（秒）"), default=5,
                                                    validators=[MaxValueValidator(120)])
    to_last_agent = models.BooleanField(_("默认转接到最后一次通话员工"), default=False)
    direct_dial = models.BooleanField(_("允许转分机（400-899）"), default=True)
    remark = models.CharField(_("备注"), max_length=200, blank=True)
    # Round-robin memory of the default extensions (written by call control).
    last_default_index = models.IntegerField(default=-1, editable=False)

    class Meta:
        verbose_name = _("语音导航")
        verbose_name_plural = _("语音导航管理")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="ivr_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="ivr_ent_name")]
        permissions = _perms("ivrmenu", "语音导航")

    def __str__(self) -> str:
        return self.name

    def default_extension_list(self) -> list[str]:
        return [x.strip() for x in self.default_extensions.replace("，", ",").split(",") if x.strip()]


class IvrKey(models.Model):
    """按键方案: one key of a menu and what it does."""

    menu = models.ForeignKey(IvrMenu, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(_("按键码"), max_length=1, choices=[(k, k) for k in DTMF_KEYS])
    action = models.CharField(_("处理方式"), max_length=15, choices=IvrAction.choices)
    extension = models.CharField(_("分机号"), max_length=4, blank=True, validators=[extension_validator])
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True, related_name="ivr_keys",
                               verbose_name=_("语音"))

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["menu", "key"], name="ivrkey_unique")]

    def __str__(self) -> str:
        return f"{self.key} → {self.get_action_display()}"


class Schedule(TenantModel):
    """导航时段及策略 (2.8.2): which menu answers, by weekday and time slot."""

    name = models.CharField(_("策略名称"), max_length=60)
    weekdays = models.CharField(_("导航时间（星期）"), max_length=20, default="1,2,3,4,5,6,7",
                                help_text=_("1 为星期一，7 为星期日"))
    default_menu = models.ForeignKey(IvrMenu, on_delete=models.PROTECT, related_name="default_in_schedules",
                                     verbose_name=_("默认导航"))
    remark = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("导航策略")
        verbose_name_plural = _("导航时段及策略")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="schedule_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="schedule_ent_name")]
        permissions = _perms("schedule", "导航策略")

    def __str__(self) -> str:
        return self.name

    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays.split(",") if d.strip().isdigit()}


class ScheduleSlot(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="slots")
    start = models.TimeField(_("开始时间"))
    end = models.TimeField(_("结束时间"))
    menu = models.ForeignKey(IvrMenu, on_delete=models.PROTECT, related_name="slots", verbose_name=_("导航"))

    class Meta:
        ordering = ["start"]


class DidRoute(TenantModel):
    """外线【设置】: the IVR schedule that answers calls to one called number (DID)."""

    trunk = models.ForeignKey(Trunk, on_delete=models.CASCADE, related_name="did_routes", verbose_name=_("外线"))
    did = models.CharField(_("呼入号码"), max_length=20, validators=[digits_validator])
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="did_routes",
                                 verbose_name=_("导航策略"))

    class Meta:
        verbose_name = _("呼入导航规则")
        verbose_name_plural = _("呼入导航规则")
        constraints = [models.UniqueConstraint(fields=["enterprise", "did"], name="did_unique")]
        indexes = [models.Index(fields=["enterprise", "did", "id"], name="did_ent_did")]
        permissions = _perms("didroute", "呼入导航规则")

    def __str__(self) -> str:
        return self.did


class Queue(TenantModel):
    """队列设置 (2.2.8), rendered into queues.conf with app_queue's strategy names."""

    name = models.CharField(_("队列名"), max_length=60)
    extension = models.CharField(_("队列分机号"), max_length=4, validators=[extension_validator])
    strategy = models.CharField(_("排队策略"), max_length=12, choices=QueueStrategy.choices,
                                default=QueueStrategy.RINGALL)
    music = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True, related_name="queue_music",
                              verbose_name=_("队列彩铃"))
    ring_seconds = models.PositiveIntegerField(_("单个振铃时长（秒）"), default=15,
                                               validators=[MinValueValidator(1), MaxValueValidator(300)])
    retry_seconds = models.PositiveIntegerField(_("重试等待时长（秒）"), default=5, validators=[MaxValueValidator(300)])
    announce = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="queue_announce", verbose_name=_("循环播放提示音"))
    announce_frequency = models.PositiveIntegerField(_("提示音播放频率（秒）"), default=30)
    max_wait_seconds = models.PositiveIntegerField(_("拨号超时时间（秒）"), default=120,
                                                   validators=[MinValueValidator(1), MaxValueValidator(3600)])
    before_number_prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True,
                                             related_name="+", verbose_name=_("播工号前语音"))
    announce_agent_number = models.BooleanField(_("接通前播工号"), default=False)
    after_number_prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+", verbose_name=_("播工号后语音"))
    enabled = models.BooleanField(_("队列状态"), default=True)
    overflow_to_mobile = models.BooleanField(_("未接通转手机"), default=False)
    members = models.ManyToManyField(Agent, through="QueueMember", related_name="queues", blank=True)

    class Meta:
        verbose_name = _("队列")
        verbose_name_plural = _("队列设置")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "name"], name="queue_unique_name"),
            models.UniqueConstraint(fields=["enterprise", "extension"], name="queue_unique_extension"),
        ]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="queue_ent_name")]
        permissions = _perms("queue", "队列")

    def __str__(self) -> str:
        return f"{self.name} ({self.extension})"


class QueueMember(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="queue_memberships")
    position = models.PositiveIntegerField(_("顺序"), default=0)
    penalty = models.PositiveIntegerField(_("优先级"), default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["queue", "agent"], name="queue_member_unique")]


class Route(TenantModel):
    """数据库导航 (C9) and 地区导航 (C10): inbound calls matching a rule go to a destination."""

    kind = models.CharField(_("类型"), max_length=4, choices=RouteKind.choices)
    name = models.CharField(_("名称"), max_length=60)
    priority = models.PositiveIntegerField(_("优先级"), default=100, help_text=_("数字小的先匹配"))
    numbers = models.TextField(_("来电号码"), blank=True, help_text=_("数据库导航：每行一个号码"))
    customer_category = models.CharField(_("客户分类"), max_length=60, blank=True,
                                         help_text=_("数据库导航：该分类的客户来电"))
    province = models.CharField(_("省份"), max_length=20, blank=True)
    city = models.CharField(_("城市"), max_length=20, blank=True, help_text=_("留空表示全省"))
    destination_kind = models.CharField(_("目标类型"), max_length=10, choices=DestinationKind.choices)
    destination = models.CharField(_("目标"), max_length=60, help_text=_("分机号、坐席组名或导航名称"))
    enabled = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("导航规则")
        verbose_name_plural = _("数据库与地区导航")
        constraints = [models.UniqueConstraint(fields=["enterprise", "kind", "name"], name="route_unique_name")]
        indexes = [models.Index(fields=["enterprise", "priority", "id"], name="route_ent_priority")]
        permissions = _perms("route", "导航规则")

    def __str__(self) -> str:
        return self.name

    def number_list(self) -> list[str]:
        return [n.strip() for n in self.numbers.replace(",", "\n").splitlines() if n.strip()]


class BlacklistEntry(TenantModel):
    """黑名单 (2.7.3): numbers refused inbound, skipped outbound, or both."""

    number = models.CharField(_("号码"), max_length=20, validators=[digits_validator])
    direction = models.CharField(_("方向"), max_length=4, choices=BlacklistDirection.choices,
                                 default=BlacklistDirection.BOTH)
    remark = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("添加时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("黑名单号码")
        verbose_name_plural = _("黑名单")
        constraints = [models.UniqueConstraint(fields=["enterprise", "number"], name="blacklist_unique")]
        indexes = [models.Index(fields=["enterprise", "number", "id"], name="blacklist_ent_number"),
                   models.Index(fields=["enterprise", "created_at", "id"], name="blacklist_ent_created")]
        permissions = _perms("blacklistentry", "黑名单")

    def __str__(self) -> str:
        return self.number
