"""Calls as they happened: CDRs and recordings (2.1.3 通话详单), missed calls (2.4.5 漏接明细),
live agent state (2.1.6 坐席监控) and live channels (2.7.6 通道监控); quality reviews of calls (质检).

Call control writes the call rows through `services.py`; the web only reads them. Quality
reviews are the one thing users write here (`services.quality_review_save`).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent
from callcenter.calls.choices import AgentStatus, CallDirection, ChannelKind, cause_label
from callcenter.core.models import TenantModel

# ARI channel ids are at most 149 characters (PBX-PROTOCOL.md, Originate).
CALL_ID_LENGTH = 150


class Recording(TenantModel):
    """The mixed recording of one call: a file under MEDIA_ROOT, or a URL the simulated
    Asterisk synthesises the audio at."""

    call_id = models.CharField(_("通话ID"), max_length=CALL_ID_LENGTH)
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("坐席"))
    file = models.FileField(_("录音文件"), upload_to="recordings/%Y/%m/%d", max_length=300, blank=True)
    url = models.CharField(_("录音地址"), max_length=500, blank=True)
    duration_seconds = models.PositiveIntegerField(_("时长（秒）"), default=0)
    created_at = models.DateTimeField(_("录音时间"))

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("录音")
        verbose_name_plural = _("录音")
        indexes = [
            models.Index(fields=["enterprise", "created_at", "id"], name="rec_ent_created"),
            models.Index(fields=["enterprise", "agent", "created_at", "id"], name="rec_ent_agent_created"),
            models.Index(fields=["call_id"], name="rec_call"),
        ]

    def __str__(self) -> str:
        return self.file.name or self.url or self.call_id


class Cdr(TenantModel):
    """One call detail record per call (call id = the first leg's channel id)."""

    call_id = models.CharField(_("通话ID"), max_length=CALL_ID_LENGTH, unique=True)
    direction = models.CharField(_("呼叫方向"), max_length=10, choices=CallDirection.choices)
    caller = models.CharField(_("主叫号码"), max_length=32, blank=True)
    callee = models.CharField(_("被叫号码"), max_length=32, blank=True)
    did = models.CharField(_("呼入号码"), max_length=32, blank=True)
    trunk = models.ForeignKey("telephony.Trunk", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("外线"))
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("坐席"))
    # The agent number as it was at the time of the call (kept if the agent is renamed).
    agent_number = models.CharField(_("坐席号"), max_length=4, blank=True)
    group_name = models.CharField(_("坐席组"), max_length=60, blank=True)
    queue_name = models.CharField(_("队列"), max_length=60, blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    answered_at = models.DateTimeField(_("接通时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    ring_seconds = models.PositiveIntegerField(_("振铃时长（秒）"), default=0)
    talk_seconds = models.PositiveIntegerField(_("通话时长（秒）"), default=0)
    cause = models.PositiveSmallIntegerField(_("挂断原因码"), null=True, blank=True)
    cause_text = models.CharField(_("挂断原因"), max_length=100, blank=True)
    last_key = models.CharField(_("最后按键"), max_length=4, blank=True)
    outcome = models.CharField(_("结果"), max_length=30, blank=True)
    flow = models.ForeignKey("telephony.CallFlow", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             verbose_name=_("流程"))
    # Campaign task and attempt (app campaigns): plain ids until that app exists.
    task_id = models.BigIntegerField(_("任务ID"), null=True, blank=True)
    attempt_id = models.BigIntegerField(_("呼叫尝试ID"), null=True, blank=True)
    recording = models.ForeignKey(Recording, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  verbose_name=_("录音"))

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("通话记录")
        verbose_name_plural = _("通话详单")
        indexes = [
            models.Index(fields=["enterprise", "started_at", "id"], name="cdr_ent_started"),
            models.Index(fields=["enterprise", "agent", "started_at", "id"], name="cdr_ent_agent_started"),
            models.Index(fields=["enterprise", "caller", "started_at", "id"], name="cdr_ent_caller_started"),
            models.Index(fields=["enterprise", "callee", "started_at", "id"], name="cdr_ent_callee_started"),
            models.Index(fields=["task_id", "started_at"], name="cdr_task_started"),
        ]
        permissions = [("export_cdr", _("可导出通话详单"))]

    def __str__(self) -> str:
        return f"{self.caller} → {self.callee}"

    def get_cause_display(self) -> str:
        return cause_label(self.cause)

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def agent_label(self) -> str:
        """"811 张三" while the agent exists, else the number kept on the row."""
        if self.agent_id is not None and self.agent is not None:
            return str(self.agent)
        return self.agent_number

    @property
    def has_recording(self) -> bool:
        return self.recording_id is not None


# Scores are whole points out of 100.
SCORE_MAX = 100


class QualityReview(TenantModel):
    """质检: one reviewer's score and comment on one call. Scoring a call again replaces its
    review (the audit log keeps the earlier one)."""

    cdr = models.OneToOneField(Cdr, on_delete=models.CASCADE, related_name="review", verbose_name=_("通话"))
    # The call's agent, copied from the CDR: the data scope (an agent sees the reviews of
    # their own calls) and the "by agent" filter work on this table's own index.
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("被质检坐席"))
    score = models.PositiveSmallIntegerField(_("评分"), validators=[MinValueValidator(0),
                                                                   MaxValueValidator(SCORE_MAX)])
    comment = models.TextField(_("评语"), max_length=1000, blank=True)
    reviewer = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("质检员"))
    reviewed_at = models.DateTimeField(_("质检时间"))

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("质检记录")
        verbose_name_plural = _("质检")
        indexes = [
            models.Index(fields=["enterprise", "reviewed_at", "id"], name="qreview_ent_reviewed"),
            models.Index(fields=["enterprise", "agent", "reviewed_at", "id"], name="qreview_ent_agent"),
            models.Index(fields=["enterprise", "reviewer", "reviewed_at", "id"], name="qreview_ent_reviewer"),
            models.Index(fields=["enterprise", "score", "id"], name="qreview_ent_score"),
        ]
        permissions = [("export_qualityreview", _("可导出质检记录"))]

    def __str__(self) -> str:
        return f"{self.cdr} · {self.score}"


class MissedCall(TenantModel):
    """漏接: a call that rang agents and reached none; one row per agent it rang (each agent
    sees it in their to-dos), or one without an agent when nobody could be rung."""

    call_id = models.CharField(_("通话ID"), max_length=CALL_ID_LENGTH)
    caller = models.CharField(_("来电号码"), max_length=32)
    at = models.DateTimeField(_("来电时间"))
    rang_agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("振铃坐席"))
    group_name = models.CharField(_("坐席组"), max_length=60, blank=True)
    queue_name = models.CharField(_("队列"), max_length=60, blank=True)
    seen = models.BooleanField(_("已查看"), default=False)

    scope_owner_field = "rang_agent"

    class Meta:
        verbose_name = _("漏接电话")
        verbose_name_plural = _("漏接明细")
        constraints = [models.UniqueConstraint(fields=["call_id", "rang_agent"], name="missed_call_agent_unique")]
        indexes = [
            models.Index(fields=["enterprise", "at", "id"], name="missed_ent_at"),
            models.Index(fields=["enterprise", "rang_agent", "at", "id"], name="missed_ent_agent_at"),
            models.Index(fields=["enterprise", "caller", "at", "id"], name="missed_ent_caller_at"),
        ]
        permissions = [("export_missedcall", _("可导出漏接明细"))]

    def __str__(self) -> str:
        return f"{self.caller} {self.at:%Y-%m-%d %H:%M}"


class AgentState(TenantModel):
    """The live state of one agent, written by call control (T10 坐席监控)."""

    agent = models.OneToOneField(Agent, on_delete=models.CASCADE, related_name="live_state",
                                 verbose_name=_("坐席"))
    state = models.CharField(_("状态"), max_length=10, choices=AgentStatus.choices, default=AgentStatus.OFFLINE)
    since = models.DateTimeField(_("开始于"))
    call_id = models.CharField(_("当前通话ID"), max_length=CALL_ID_LENGTH, blank=True)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("坐席状态")
        verbose_name_plural = _("坐席监控")
        indexes = [models.Index(fields=["enterprise", "state", "id"], name="agentstate_ent_state")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.state}"


class LiveChannel(TenantModel):
    """A channel up on the PBX now (S6 通道监控); rows disappear when the channel is destroyed."""

    channel_id = models.CharField(_("通道ID"), max_length=CALL_ID_LENGTH, unique=True)
    name = models.CharField(_("通道名"), max_length=200, blank=True)
    kind = models.CharField(_("类型"), max_length=10, choices=ChannelKind.choices)
    state = models.CharField(_("状态"), max_length=20, blank=True)
    caller = models.CharField(_("主叫号码"), max_length=32, blank=True)
    callee = models.CharField(_("被叫号码"), max_length=32, blank=True)
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("坐席"))
    queue_name = models.CharField(_("队列"), max_length=60, blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("通道")
        verbose_name_plural = _("通道监控")
        indexes = [models.Index(fields=["enterprise", "kind", "started_at", "id"], name="chan_ent_kind_started"),
                   models.Index(fields=["enterprise", "started_at", "id"], name="chan_ent_started")]

    def __str__(self) -> str:
        return self.name or self.channel_id
