"""Enumerations of the core app, each with its label and badge colour (STYLE.md practice 4)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    UI = "ui", _("界面")
    API = "api", _("接口")
    IMPORT = "import", _("导入")
    BULK = "bulk", _("批量")
    SYSTEM = "system", _("系统")


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")


class JobKind(models.TextChoices):
    IMPORT = "import", _("导入")
    EXPORT = "export", _("导出")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("完成")
    FAILED = "failed", _("失败")

    @property
    def badge(self) -> str:
        return {"pending": "secondary", "running": "info", "done": "success", "failed": "danger"}[self.value]


class DataScope(models.TextChoices):
    OWN = "own", _("本人")
    SUBORDINATES = "subordinates", _("本人及下级")
    ALL = "all", _("全部")
