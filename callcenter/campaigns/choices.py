"""Enumerations of campaigns (任务管理 2.1), each with its label and badge colour."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskStatus(models.TextChoices):
    """A task's state. A draft (保存草稿) is PAUSED with `submitted=False`: the dialer leaves
    it alone and agents work its numbers by manual batch dialling (T2)."""

    IMPORTING = "importing", _("号码导入中")
    SCHEDULED = "scheduled", _("等待发送")
    RUNNING = "running", _("发送中")
    PAUSED = "paused", _("暂停")
    ENDED = "ended", _("已结束")

    @property
    def badge(self) -> str:
        return {"importing": "info", "scheduled": "secondary", "running": "success", "paused": "warning",
                "ended": "dark"}[self.value]


class EndReason(models.TextChoices):
    COMPLETED = "completed", _("号码已呼完")
    MANUAL = "manual", _("手工结束")


class NumberStatus(models.TextChoices):
    """Where a task number is in its life."""

    PENDING = "pending", _("待呼叫")
    DIALING = "dialing", _("呼叫中")
    RETRY = "retry", _("待重呼")
    DONE = "done", _("已完成")

    @property
    def badge(self) -> str:
        return {"pending": "secondary", "dialing": "warning", "retry": "info", "done": "success"}[self.value]


class CallResult(models.TextChoices):
    """The result of an attempt, and of a number (its last attempt's result).

    Failed results (no answer, busy, congestion, trunk failure) are retried per the flow's
    重呼次数; answered ones and numbers skipped at claim time (blacklist, called today) are not.
    """

    TRANSFERRED = "transferred", _("已转坐席")
    ANSWERED = "answered", _("已接通")  # answered; the flow plays only and does not transfer
    ABANDONED = "abandoned", _("接通未转坐席")  # the flow asked for a transfer, no agent took it
    NO_ANSWER = "no_answer", _("无人接听")
    BUSY = "busy", _("用户忙")
    CONGESTION = "congestion", _("线路拥塞")
    FAILED = "failed", _("外线失败")
    BLACKLISTED = "blacklisted", _("黑名单")
    CALLED_TODAY = "called_today", _("当天已呼叫")
    CANCELLED = "cancelled", _("任务结束未呼叫")

    @property
    def badge(self) -> str:
        return {"transferred": "success", "answered": "primary", "abandoned": "warning", "no_answer": "secondary",
                "busy": "secondary", "congestion": "danger", "failed": "danger", "blacklisted": "dark",
                "called_today": "dark", "cancelled": "light"}[self.value]


RETRYABLE_RESULTS = frozenset({CallResult.NO_ANSWER, CallResult.BUSY, CallResult.CONGESTION, CallResult.FAILED})
ANSWERED_RESULTS = frozenset({CallResult.TRANSFERRED, CallResult.ANSWERED, CallResult.ABANDONED})


class ResendRule(models.TextChoices):
    """重新发送: which numbers of an ended task are dialled again."""

    UNANSWERED = "unanswered", _("未接通")  # no answer, busy, and never dialled (cancelled)
    FAILED = "failed", _("呼叫失败")  # congestion, trunk failure
    NOT_TRANSFERRED = "not_transferred", _("接通未转坐席")


RESEND_RESULTS = {
    ResendRule.UNANSWERED: frozenset({CallResult.NO_ANSWER, CallResult.BUSY, CallResult.CANCELLED}),
    ResendRule.FAILED: frozenset({CallResult.CONGESTION, CallResult.FAILED}),
    ResendRule.NOT_TRANSFERRED: frozenset({CallResult.ABANDONED}),
}


class AttemptStatus(models.TextChoices):
    DIALING = "dialing", _("呼叫中")  # claimed and committed; originate sent or about to be
    DONE = "done", _("已结束")


class DropReason(models.TextChoices):
    """Why intake dropped a line of the file or list (T1)."""

    INVALID = "invalid", _("号码无效")
    DUPLICATE = "duplicate", _("重复号码")
    BLACKLISTED = "blacklisted", _("黑名单")
    CALLED_TODAY = "called_today", _("当天其它任务已呼叫")
    HAS_CUSTOMER = "has_customer", _("客户档案已存在")
