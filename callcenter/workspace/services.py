"""Writes of the agent workspace (X1) and follow-ups (T13): keyword-only, transactional, audited.

The agent's state goes to `AgentState` through callcenter.calls.services, where call control
reads it (dbconfig.busy_agent_ids counts paused agents as busy). Hang-up is a `PbxCommand`
that call control claims and runs.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from callcenter.accounts.services import refuse
from callcenter.calls import services as calls
from callcenter.calls.choices import AgentStatus
from callcenter.calls.models import AgentState, Cdr
from callcenter.core import audit
from callcenter.crm import services as crm
from callcenter.pbx.choices import CommandKind
from callcenter.pbx.models import PbxCommand
from callcenter.workspace.choices import AgentChoice, FollowUpResult
from callcenter.workspace.models import AgentStateChange, FollowUp

ON_CALL = (AgentStatus.BUSY, AgentStatus.RINGING)
WRAP_UP_REASON = gettext_noop("话后整理")


def current_state(agent) -> AgentState | None:
    return AgentState.objects.filter(agent=agent).first()


def agent_set_state(*, agent, state: str, reason: str = "") -> AgentState:
    """【就绪】/【示忙】(with a reason)/【离线】. Refused while the agent is on a call."""
    if state not in AgentChoice.values:
        refuse("state", _("状态：只能设置为就绪、示忙或离线"))
    reason = (reason or "").strip()[:100]
    if state == AgentChoice.PAUSED and not reason:
        refuse("reason", _("示忙原因：必填"))
    live = current_state(agent)
    if live is not None and live.state in ON_CALL:
        refuse("state", _("通话中不能切换状态，请先挂断"))
    with transaction.atomic():
        calls.agent_state_set(enterprise_id=agent.enterprise_id, agent_id=agent.pk, state=state)
        AgentStateChange.objects.create(enterprise_id=agent.enterprise_id, agent=agent, state=state,
                                        reason=reason if state == AgentChoice.PAUSED else "")
    return current_state(agent)


def agent_call_ended(*, enterprise_id: int, agent_id: int, call_id: str, since=None) -> str:
    """The agent's connected call is over (call control calls this). The agent is ready again, or,
    when the call ran on a flow with 挂断后暂停, paused for wrap-up (示忙, reason 话后整理): no call is
    offered until they press 【话后处理完成】 or 【就绪】. Returns the state set."""
    pause = bool(call_id) and Cdr.objects.filter(call_id=call_id, flow__pause_after_hangup=True).exists()
    state = AgentStatus.PAUSED if pause else AgentStatus.IDLE
    with transaction.atomic():
        calls.agent_state_set(enterprise_id=enterprise_id, agent_id=agent_id, state=state, since=since)
        if pause:
            AgentStateChange.objects.create(enterprise_id=enterprise_id, agent_id=agent_id, state=state,
                                            reason=_(WRAP_UP_REASON), at=since or timezone.now())
    return state


def wrap_up(*, agent) -> AgentState:
    """【话后处理完成】: the agent is ready for the next call."""
    live = current_state(agent)
    if live is not None and live.state in ON_CALL:
        refuse("state", _("通话中不能结束话后处理，请先挂断"))
    return agent_set_state(agent=agent, state=AgentChoice.READY)


def hangup(*, agent) -> PbxCommand:
    """Ask call control to hang up the agent's current call (the customer channel)."""
    live = current_state(agent)
    if live is None or live.state not in ON_CALL or not live.call_id:
        refuse("call", _("当前没有通话"))
    return PbxCommand.objects.create(enterprise_id=agent.enterprise_id, kind=CommandKind.HANGUP,
                                     params={"channel_id": live.call_id}, created_by=agent, call_id=live.call_id)


def followup_create(*, agent, phone: str, text: str, result: str = FollowUpResult.PENDING,
                    next_contact_at=None, customer=None, call_id: str = "") -> FollowUp:
    """A follow-up note written on the screen pop."""
    text = (text or "").strip()
    if not text:
        refuse("text", _("跟踪内容：必填"))
    if len(text) > 2000:
        refuse("text", _("跟踪内容：最多2000个字符"))
    if result not in FollowUpResult.values:
        refuse("result", _("跟踪结果：无效的选项"))
    phone = crm.phone_or_refuse(phone)
    if next_contact_at is not None and timezone.is_naive(next_contact_at):
        next_contact_at = timezone.make_aware(next_contact_at)
    if customer is not None:
        if customer.enterprise_id != agent.enterprise_id:
            refuse("customer", _("客户不存在"))
        if not crm.may_open(agent, customer):
            refuse("customer", _("客户已被坐席 %(a)s 锁定") % {"a": customer.locked_by})
    obj = FollowUp(enterprise_id=agent.enterprise_id, agent=agent, phone=phone, text=text, result=result,
                   next_contact_at=next_contact_at, customer=customer, call_id=(call_id or "")[:150])
    with transaction.atomic():
        obj.save()
        audit.record_create(obj)
    return obj
