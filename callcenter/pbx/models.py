"""Applying configuration to the PBX (manual 2.7.2 坐席配置生效, C11/S2).

Each 【应用配置】 is one `ConfigApply`: who pressed it, when, the result, what changed
since the last successful apply, and the snapshot it pushed (secrets as digests only).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.core.models import TenantModel
from callcenter.pbx.choices import ApplyStatus, CommandKind, CommandStatus


class ConfigApply(TenantModel):
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("操作人"))
    applied_by_label = models.CharField(_("操作人"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    status = models.CharField(_("结果"), max_length=10, choices=ApplyStatus.choices, default=ApplyStatus.RUNNING)
    message = models.TextField(_("说明"), blank=True)
    # {"changes": {agents/trunks/queues: {added, removed, changed}, count}, "files": {name: sha256},
    #  "reloads": [...], "release": "<directory>"}
    summary = models.JSONField(_("变更"), default=dict, blank=True)
    # The configuration pushed (EnterpriseConf.to_dict(), secrets masked): the base of the next diff.
    snapshot = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        verbose_name = _("配置生效记录")
        verbose_name_plural = _("坐席配置生效")
        indexes = [
            models.Index(fields=["enterprise", "started_at", "id"], name="cfgapply_ent_started"),
            models.Index(fields=["enterprise", "status", "started_at"], name="cfgapply_ent_status"),
        ]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.get_status_display()}"

    @property
    def status_badge(self) -> str:
        return ApplyStatus(self.status).badge


class PbxCommand(TenantModel):
    """Work the web asks of call control (e.g. a test dial); call control claims it with a
    guarded update, so each command runs once even with several call-control processes."""

    kind = models.CharField(_("类型"), max_length=20, choices=CommandKind.choices)
    params = models.JSONField(default=dict)
    status = models.CharField(_("状态"), max_length=10, choices=CommandStatus.choices,
                              default=CommandStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    call_id = models.CharField(max_length=150, blank=True)
    result = models.CharField(_("结果"), max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="pbxcmd_status")]


class CallEvent(TenantModel):
    """What happened on a call, in order, for the live views (test dial)."""

    command = models.ForeignKey(PbxCommand, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    call_id = models.CharField(max_length=150)
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=30)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["command", "id"], name="callevent_cmd")]
