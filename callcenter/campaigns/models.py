"""Outbound campaigns (任务管理 2.1): tasks, their numbers, and every attempt to call one.

The dialer (campaigns/dialer/) claims a number by committing an `Attempt` in state
`dialing` *before* it originates; the channel carries the attempt id. After a crash, call
control reconciles `dialing` attempts with the PBX's live channels instead of dialling again
(DESIGN.md "Crash safety of the dialer").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent
from callcenter.campaigns.choices import AttemptStatus, CallResult, DropReason, EndReason, NumberStatus, TaskStatus
from callcenter.core.models import TenantModel


class Task(TenantModel):
    """任务: a list of numbers the dialer calls through a call flow, inside time windows."""

    name = models.CharField(_("任务名称"), max_length=100)
    flow = models.ForeignKey("telephony.CallFlow", on_delete=models.PROTECT, related_name="tasks",
                             verbose_name=_("流程"))
    category = models.ForeignKey("crm.CustomerCategory", on_delete=models.PROTECT, related_name="tasks",
                                 verbose_name=_("客户分类"))
    start_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    dedupe = models.BooleanField(_("去除重复"), default=True)
    recall_called_today = models.BooleanField(_("重复呼叫"), default=False)
    skip_existing_customers = models.BooleanField(_("客户档案存在不发送"), default=False)
    status = models.CharField(_("状态"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.IMPORTING)
    # False: saved as a draft (保存草稿); the dialer never calls it until it is submitted.
    submitted = models.BooleanField(_("已提交发送"), default=False)
    # 重新发送 starts a new round; attempts keep the round they belong to.
    round = models.PositiveIntegerField(_("发送轮次"), default=1)
    source_name = models.CharField(_("号码文件"), max_length=200, blank=True)
    numbers_total = models.PositiveIntegerField(_("号码数"), default=0)
    # {"lines": n, "accepted": n, "dropped": {reason: n}, "customers_created": n, "customers_updated": n}
    intake = models.JSONField(_("导入结果"), default=dict, blank=True)
    job = models.ForeignKey("core.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("创建人"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    started_at = models.DateTimeField(_("实际开始"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=10, choices=EndReason.choices, blank=True)

    scope_owner_field = "created_by"

    class Meta:
        verbose_name = _("任务")
        verbose_name_plural = _("任务查询")
        indexes = [
            models.Index(fields=["enterprise", "created_at", "id"], name="task_ent_created"),
            models.Index(fields=["enterprise", "status", "created_at", "id"], name="task_ent_status"),
            models.Index(fields=["enterprise", "name", "id"], name="task_ent_name"),
            models.Index(fields=["status", "submitted"], name="task_status_submitted"),
        ]
        permissions = [
            ("send_task", _("可发送任务")),
            ("control_task", _("可暂停、恢复、结束任务")),
            ("export_tasknumber", _("可导出任务明细")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status_badge(self) -> str:
        return TaskStatus(self.status).badge

    @property
    def is_draft(self) -> bool:
        return not self.submitted


class TaskWindow(models.Model):
    """发送阶段: a daily time window, in the enterprise's time zone, in which the task may dial.
    A task without windows may dial at any time."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="windows")
    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))

    class Meta:
        ordering = ["start"]
        verbose_name = _("发送阶段")
        verbose_name_plural = _("发送阶段")
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="taskwindow_order")]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class TaskNumber(TenantModel):
    """One number of a task, with where it stands and the result of its last attempt."""

    # No single-column indexes on enterprise and task: the composite indexes below lead with them,
    # and each extra index slows the intake's bulk insert of 50,000 rows (bench/campaign_intake.py).
    enterprise = models.ForeignKey("core.Enterprise", on_delete=models.CASCADE, verbose_name=_("企业"),
                                   related_name="+", editable=False, db_index=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="numbers", verbose_name=_("任务"),
                             db_index=False)
    phone = models.CharField(_("号码"), max_length=32)
    line_no = models.PositiveIntegerField(_("行号"), default=0)
    customer = models.ForeignKey("crm.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("客户"))
    status = models.CharField(_("状态"), max_length=10, choices=NumberStatus.choices, default=NumberStatus.PENDING)
    result = models.CharField(_("结果"), max_length=15, choices=CallResult.choices, blank=True)
    attempts = models.PositiveIntegerField(_("呼叫次数"), default=0)  # in the current round
    next_attempt_at = models.DateTimeField(_("下次呼叫"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("最后呼叫"), null=True, blank=True)
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("坐席"))
    talk_seconds = models.PositiveIntegerField(_("通话时长（秒）"), default=0)
    call_id = models.CharField(_("通话ID"), max_length=150, blank=True)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("任务号码")
        verbose_name_plural = _("任务明细")
        indexes = [
            # The dialer's claim: due numbers of a task in order.
            models.Index(fields=["task", "status", "next_attempt_at", "id"], name="tasknum_claim"),
            models.Index(fields=["task", "id"], name="tasknum_task"),
            models.Index(fields=["task", "result", "id"], name="tasknum_task_result"),
            models.Index(fields=["task", "phone"], name="tasknum_task_phone"),
            # "called today by other tasks" and T8 agent task detail.
            models.Index(fields=["enterprise", "phone", "last_attempt_at"], name="tasknum_ent_phone_last"),
            models.Index(fields=["enterprise", "agent", "last_attempt_at", "id"], name="tasknum_ent_agent_last"),
            models.Index(fields=["enterprise", "last_attempt_at", "id"], name="tasknum_ent_last"),
        ]

    def __str__(self) -> str:
        return self.phone


class Attempt(TenantModel):
    """One call to one number: committed in state `dialing` before the originate is sent."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("任务"))
    number = models.ForeignKey(TaskNumber, on_delete=models.CASCADE, related_name="attempt_rows",
                               verbose_name=_("号码"))
    round = models.PositiveIntegerField(_("发送轮次"), default=1)
    seq = models.PositiveIntegerField(_("第几次"), default=1)  # 1 = first try of this round
    status = models.CharField(_("状态"), max_length=10, choices=AttemptStatus.choices,
                              default=AttemptStatus.DIALING)
    result = models.CharField(_("结果"), max_length=15, choices=CallResult.choices, blank=True)
    cause = models.PositiveSmallIntegerField(_("挂断原因码"), null=True, blank=True)
    call_id = models.CharField(_("通话ID"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("呼叫时间"), default=timezone.now)
    answered_at = models.DateTimeField(_("接通时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("坐席"))
    talk_seconds = models.PositiveIntegerField(_("通话时长（秒）"), default=0)
    # Set when the dialer manages a call that is still up but reconciled after a restart.
    reconciled = models.BooleanField(_("重启后核对"), default=False)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("呼叫尝试")
        verbose_name_plural = _("呼叫尝试")
        constraints = [models.UniqueConstraint(fields=["number", "round", "seq"], name="attempt_number_round_seq")]
        indexes = [
            models.Index(fields=["status", "enterprise"], name="attempt_status"),
            models.Index(fields=["task", "created_at", "id"], name="attempt_task_created"),
            models.Index(fields=["call_id"], name="attempt_call"),
        ]

    def __str__(self) -> str:
        return f"{self.number_id}#{self.round}.{self.seq}"


class TaskDrop(models.Model):
    """A line intake dropped, and why: the downloadable list of dropped numbers (T1)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="drops")
    line_no = models.PositiveIntegerField(_("行号"))
    raw = models.CharField(_("原始内容"), max_length=100)
    phone = models.CharField(_("号码"), max_length=32, blank=True)
    reason = models.CharField(_("原因"), max_length=15, choices=DropReason.choices)

    class Meta:
        verbose_name = _("未导入号码")
        verbose_name_plural = _("未导入号码")
        indexes = [models.Index(fields=["task", "line_no"], name="taskdrop_task_line")]


class DialerLease(TenantModel):
    """Who paces an enterprise's tasks now: one call-control process per enterprise. A holder
    renews it every few seconds; another process takes over only after it expires."""

    holder = models.CharField(max_length=100)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enterprise"], name="dialerlease_one_per_enterprise")]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.holder}"


__all__ = ["Attempt", "DialerLease", "Task", "TaskDrop", "TaskNumber", "TaskWindow", "DropReason", "CallResult"]
