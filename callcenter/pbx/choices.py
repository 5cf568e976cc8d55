"""Enumerations of the pbx app, with labels and badge colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApplyStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    OK = "ok", _("成功")
    FAILED = "failed", _("失败")

    @property
    def badge(self) -> str:
        return {"running": "secondary", "ok": "success", "failed": "danger"}[self.value]


class CommandKind(models.TextChoices):
    TEST_DIAL = "test_dial", _("测拨")
    HANGUP = "hangup", _("挂断")


class CommandStatus(models.TextChoices):
    PENDING = "pending", _("等待")
    RUNNING = "running", _("进行中")
    DONE = "done", _("完成")
    FAILED = "failed", _("失败")

    @property
    def badge(self) -> str:
        return {"pending": "secondary", "running": "info", "done": "success", "failed": "danger"}[self.value]
