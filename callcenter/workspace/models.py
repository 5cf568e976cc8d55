"""Follow-ups (T13, manual 2.1.9 跟踪记录) and the agent's state changes in the workspace (X1).

FollowUp belongs to crm by the GLOSSARY; it lives here because crm's migrations are owned by
another developer while this was built. Moving it is a model move (SeparateDatabaseAndState).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent
from callcenter.calls.models import CALL_ID_LENGTH
from callcenter.core.models import TenantModel
from callcenter.workspace.choices import FollowUpResult


class FollowUp(TenantModel):
    """跟踪记录: a note an agent wrote on the screen pop, with the next contact time and a result.

    Kept in the workspace app (not crm, where the GLOSSARY puts it) because crm's migrations
    belonged to another developer at the time."""

    customer = models.ForeignKey("crm.Customer", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("客户"))
    phone = models.CharField(_("电话"), max_length=32)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+", verbose_name=_("坐席"))
    call_id = models.CharField(_("通话ID"), max_length=CALL_ID_LENGTH, blank=True)
    text = models.TextField(_("跟踪内容"), max_length=2000)
    next_contact_at = models.DateTimeField(_("下次联系时间"), null=True, blank=True)
    result = models.CharField(_("跟踪结果"), max_length=20, choices=FollowUpResult.choices,
                              default=FollowUpResult.PENDING)
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("跟踪记录")
        verbose_name_plural = _("跟踪记录")
        indexes = [
            models.Index(fields=["enterprise", "created_at", "id"], name="followup_ent_created"),
            models.Index(fields=["enterprise", "agent", "created_at", "id"], name="followup_ent_agent"),
            models.Index(fields=["enterprise", "phone", "created_at"], name="followup_ent_phone"),
            models.Index(fields=["customer", "created_at"], name="followup_customer"),
            models.Index(fields=["enterprise", "next_contact_at"], name="followup_ent_next"),
        ]
        permissions = [("export_followup", _("可导出跟踪记录")), ("use_workspace", _("可使用坐席工作台"))]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def result_badge(self) -> str:
        return FollowUpResult(self.result).badge


class AgentStateChange(TenantModel):
    """Each ready / paused (with its reason) / logged-out the agent set in the workspace."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+", verbose_name=_("坐席"))
    state = models.CharField(_("状态"), max_length=10)
    reason = models.CharField(_("示忙原因"), max_length=100, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("坐席状态变更")
        verbose_name_plural = _("坐席状态变更")
        indexes = [models.Index(fields=["enterprise", "agent", "at"], name="agentchange_ent_agent_at")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.state}"
