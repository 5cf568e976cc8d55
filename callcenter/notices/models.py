"""公告便签 (manual 2.1.7, T11) and 待办事务 (2.1.8, T12)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent, Department
from callcenter.core.models import TenantModel
from callcenter.notices.choices import AnnouncementStatus, Audience, TodoKind


class Announcement(TenantModel):
    title = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("内容"), blank=True, help_text=_("可使用简单的 HTML 格式；脚本会被清除"))
    audience = models.CharField(_("通知人员"), max_length=12, choices=Audience.choices, default=Audience.ALL)
    departments = models.ManyToManyField(Department, blank=True, related_name="+", verbose_name=_("部门"))
    agents = models.ManyToManyField(Agent, blank=True, related_name="+", verbose_name=_("坐席"))
    author = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("发布人"), editable=False)
    status = models.CharField(_("状态"), max_length=10, choices=AnnouncementStatus.choices,
                              default=AnnouncementStatus.DRAFT, editable=False)
    reject_reason = models.CharField(_("驳回原因"), max_length=500, blank=True, editable=False)
    approver = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("审核人"), editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("公告便签")
        verbose_name_plural = _("公告便签发布")
        indexes = [
            models.Index(fields=["enterprise", "created_at", "id"], name="ann_ent_created"),
            models.Index(fields=["enterprise", "status", "created_at", "id"], name="ann_ent_status_created"),
            models.Index(fields=["enterprise", "author", "created_at", "id"], name="ann_ent_author_created"),
        ]
        permissions = [("approve_announcement", _("可审核公告"))]

    def __str__(self) -> str:
        return self.title


class Todo(TenantModel):
    """One item in an agent's 待办事务; only that agent sees it."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="todos", verbose_name=_("坐席"),
                              editable=False)
    kind = models.CharField(_("类型"), max_length=12, choices=TodoKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    url = models.CharField(_("链接"), max_length=500, blank=True)
    source_id = models.BigIntegerField(_("来源ID"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    popped_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("待办事务")
        verbose_name_plural = _("待办事务")
        constraints = [models.UniqueConstraint(fields=["agent", "kind", "source_id"], name="todo_agent_kind_source")]
        indexes = [
            models.Index(fields=["agent", "created_at", "id"], name="todo_agent_created"),
            models.Index(fields=["agent", "kind", "created_at", "id"], name="todo_agent_kind_created"),
            models.Index(fields=["agent", "popped_at", "read_at"], name="todo_agent_popup"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
