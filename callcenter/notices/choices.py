from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    ALL = "all", _("全部坐席")
    DEPARTMENTS = "departments", _("指定部门")
    AGENTS = "agents", _("指定坐席")


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待审核")
    PUBLISHED = "published", _("已发布")
    REJECTED = "rejected", _("已驳回")

    @property
    def badge(self) -> str:
        return {"draft": "secondary", "pending": "warning", "published": "success", "rejected": "danger"}[self.value]


class TodoKind(models.TextChoices):
    ANNOUNCEMENT = "announcement", _("公告便签")
    MISSED_CALL = "missed_call", _("漏接提醒")
    BIRTHDAY = "birthday", _("生日提醒")

    @property
    def badge(self) -> str:
        return {"announcement": "primary", "missed_call": "danger", "birthday": "info"}[self.value]


class ReadState(models.TextChoices):
    UNREAD = "unread", _("未读")
    READ = "read", _("已读")
