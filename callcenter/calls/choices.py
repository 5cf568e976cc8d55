"""Enumerations of calls, live agent state and channels, each with its label and badge colour."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CallDirection(models.TextChoices):
    IN = "in", _("呼入")
    OUT = "out", _("呼出")
    INTERNAL = "internal", _("内部")
    TEST = "test", _("测拨")

    @property
    def badge(self) -> str:
        return {"in": "success", "out": "primary", "internal": "secondary", "test": "warning"}[self.value]


# Causes of a call that rang out unanswered (Q.850): no answer, alerting without answer.
NO_ANSWER_CAUSES = (18, 19)
BUSY_CAUSE = 17
NORMAL_CAUSES = (16, 31)


class CdrResult(models.TextChoices):
    """呼叫结果, as the CDR list filters it: from the answer, the agent and the hangup cause."""

    ANSWERED = "answered", _("已接通")
    AGENT = "agent", _("坐席接听")
    NO_AGENT = "no_agent", _("接通未转坐席")
    UNANSWERED = "unanswered", _("未接通")
    NO_ANSWER = "no_answer", _("无人接听")
    BUSY = "busy", _("用户忙")
    FAILED = "failed", _("呼叫失败")

    def condition(self) -> Q:
        answered = Q(answered_at__isnull=False)
        unanswered = Q(answered_at__isnull=True)
        return {
            "answered": answered,
            "agent": answered & Q(agent__isnull=False),
            "no_agent": answered & Q(agent__isnull=True),
            "unanswered": unanswered,
            "no_answer": unanswered & Q(cause__in=NO_ANSWER_CAUSES),
            "busy": unanswered & Q(cause=BUSY_CAUSE),
            # congestion, network failure, unallocated number, rejected ...: neither rung out nor busy
            "failed": unanswered & Q(cause__isnull=False)
            & ~Q(cause__in=(*NO_ANSWER_CAUSES, BUSY_CAUSE, *NORMAL_CAUSES)),
        }[self.value]


class AgentStatus(models.TextChoices):
    """坐席状态, as the agent monitor (T10) shows it."""

    OFFLINE = "offline", _("离线")
    IDLE = "idle", _("空闲")
    RINGING = "ringing", _("振铃")
    BUSY = "busy", _("通话中")
    PAUSED = "paused", _("示忙")
    WRAPUP = "wrapup", _("话后处理")

    @property
    def badge(self) -> str:
        return {"offline": "secondary", "idle": "success", "ringing": "warning", "busy": "danger",
                "paused": "dark", "wrapup": "info"}[self.value]


class ChannelKind(models.TextChoices):
    """通道监控 (2.7.6): outside lines, extensions, and callers waiting in a queue."""

    TRUNK = "trunk", _("外线")
    EXTENSION = "extension", _("内线")
    QUEUE_WAIT = "queue_wait", _("呼入等待")

    @property
    def badge(self) -> str:
        return {"trunk": "primary", "extension": "info", "queue_wait": "warning"}[self.value]


# Q.850 hangup causes that Asterisk reports (PBX-PROTOCOL.md section 6), with the UI's words.
HANGUP_CAUSES = {
    0: _("未知"),
    1: _("空号"),
    16: _("正常挂断"),
    17: _("用户忙"),
    18: _("无应答"),
    19: _("振铃未接"),
    21: _("呼叫被拒绝"),
    26: _("已被其他分机接听"),
    28: _("号码不完整"),
    31: _("正常，未指定"),
    34: _("线路拥塞"),
    38: _("网络故障"),
    127: _("互通错误"),
}
# Asterisk's own texts (ChannelDestroyed.cause_txt), stored when call control gives none.
HANGUP_CAUSE_TEXTS = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    28: "Invalid number format (addr incomplete)",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    127: "Interworking, unspecified",
}
CAUSE_CHOICES = [(code, label) for code, label in HANGUP_CAUSES.items()]


def cause_label(code: int | None) -> str:
    if code is None:
        return ""
    label = HANGUP_CAUSES.get(code)
    return f"{label} ({code})" if label is not None else str(code)
