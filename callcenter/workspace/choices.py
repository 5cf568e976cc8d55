"""Enumerations of the workspace: follow-up results and the states an agent sets."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FollowUpResult(models.TextChoices):
    INTERESTED = "interested", _("有意向")
    NOT_INTERESTED = "not_interested", _("无意向")
    PENDING = "pending", _("待跟进")
    DEAL = "deal", _("已成交")
    OTHER = "other", _("其他")

    @property
    def badge(self) -> str:
        return {"interested": "primary", "not_interested": "secondary", "pending": "warning", "deal": "success",
                "other": "light"}[self.value]


class AgentChoice(models.TextChoices):
    """What the agent may set from the workspace (call control sets ringing/busy)."""

    READY = "idle", _("就绪")
    PAUSED = "paused", _("示忙")
    OFFLINE = "offline", _("离线")
