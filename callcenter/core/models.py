"""Enterprises (tenants), the tenant base model, the audit log and background jobs."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from callcenter.core.choices import AuditAction, Channel, JobKind, JobStatus


class Enterprise(models.Model):
    """A tenant: one hosted call center. Created by the platform operator."""

    code = models.CharField(
        _("企业编号"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", _("只能包含字母、数字、下划线和连字符"))],
    )
    name = models.CharField(_("企业名称"), max_length=100)
    time_zone = models.CharField(_("时区"), max_length=50, default="Asia/Shanghai")
    licensed_lines = models.PositiveIntegerField(
        _("授权外线数"), default=10, validators=[MinValueValidator(1)]
    )
    announcements_need_approval = models.BooleanField(_("公告需要审核"), default=False)
    # The dialer's calls-per-second limit for this enterprise's tasks (T3).
    dialer_cps_limit = models.PositiveIntegerField(
        _("每秒外呼上限"), default=10, validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    screen_pop_url = models.CharField(
        _("第三方弹屏地址"),
        max_length=500,
        blank=True,
        help_text=_("可用占位符 {phone} {user} {password} {cmmId}"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["code"]
        permissions = [("change_enterprise_settings", _("可修改企业设置"))]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def max_caller_ids(self) -> int:
        return 2 * self.licensed_lines


class TenantQuerySet(models.QuerySet):
    def for_enterprise(self, enterprise):
        return self.filter(enterprise=enterprise)


class TenantModel(models.Model):
    """Every enterprise-owned row carries its enterprise."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, verbose_name=_("企业"), related_name="+", editable=False
    )

    objects = TenantQuerySet.as_manager()

    # Name of the field that holds the owning agent, for data scope ("own rows").
    # None means the model has no owner: everyone with the view permission sees all
    # of the enterprise's rows.
    scope_owner_field: str | None = None

    class Meta:
        abstract = True


class AuditLog(models.Model):
    """Who changed what, when, from where, and each field before and after."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, null=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("操作人")
    )
    actor_label = models.CharField(_("操作人"), max_length=100, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices, default=Channel.UI)
    action = models.CharField(_("操作"), max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=100)
    object_id = models.CharField(_("对象ID"), max_length=64)
    object_repr = models.CharField(_("对象"), max_length=200)
    changes = models.JSONField(_("变更"), default=dict)

    class Meta:
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        indexes = [
            models.Index(fields=["enterprise", "-at", "-id"], name="audit_ent_at"),
            models.Index(fields=["enterprise", "object_type", "object_id"], name="audit_obj"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class ColumnPreference(models.Model):
    """A user's 栏目设置 for one list screen: the visible columns in order and renamed labels
    (`{"columns": [...], "labels": {...}}`; older rows hold the plain list of columns)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=100)
    columns = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "table"], name="colpref_user_table")]


class Job(models.Model):
    """A long import or export run by the worker; the page polls its progress."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=JobKind.choices)
    screen = models.CharField(_("页面"), max_length=100)
    status = models.CharField(_("状态"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    total = models.PositiveIntegerField(_("总数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    succeeded = models.PositiveIntegerField(_("成功"), default=0)
    failed = models.PositiveIntegerField(_("失败"), default=0)
    message = models.TextField(_("说明"), blank=True)
    params = models.JSONField(default=dict)
    input_file = models.CharField(max_length=300, blank=True)
    result_file = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台作业")
        verbose_name_plural = _("后台作业")
        indexes = [models.Index(fields=["enterprise", "user", "-created_at"], name="job_owner")]

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, int(self.done * 100 / self.total))
